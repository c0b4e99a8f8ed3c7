"""How the worker process is started and contained.

``bwrap`` (the default where it works): the worker runs under bubblewrap as an unprivileged
user, in fresh user, mount, pid, network, ipc, uts and cgroup namespaces. It sees the system
(``/usr``, ``/etc``), the Python installation and the course package read-only, the public data
splits read-only at ``/data``, and a size-limited private tmpfs at ``/scratch`` (its working
directory) — nothing else: no hidden graders, no source notebooks, no gradebook, no other
student, no network. When the judge runs as root it first joins the worker to fresh memory and
pids cgroups, makes the needed directories reachable through a private mount namespace, and
**drops to an unprivileged uid before starting bubblewrap** (bwrap started by root with
``--uid`` would keep host root). ``--die-with-parent`` and the pid namespace make every process
the student starts die with the worker.

``rlimits`` (the fallback where bubblewrap is unavailable): a plain subprocess in its own
session with an empty scratch folder and resource limits. Isolation is reduced: the student's
code runs as the grader's user and can read what that user can read.

Both apply rlimits (file size, open files, processes, no core dumps; address space where no
cgroup bounds memory).
"""

from __future__ import annotations

import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from dlcourse import data

GiB = 1 << 30
ISOLATIONS = ("auto", "bwrap", "rlimits")
SANDBOX_UID = 65534  # nobody
STAGING = Path("/run/dlcourse-sandbox")  # root only: mount points for the private namespace
CGROUP_ROOT = Path("/sys/fs/cgroup")
_warned: list[str] = []


def worker_command(python: str | None = None) -> list[str]:
    """The worker runs the judge's own copy of the package (``-I``: no environment, no cwd on
    the path), so the two sides of the wire are always the same code."""
    import dlcourse

    parent = str(Path(dlcourse.__file__).resolve().parents[1])
    boot = f"import sys; sys.path.insert(0, {parent!r}); from dlcourse.worker import main; main()"
    return [python or sys.executable, "-I", "-c", boot]


def memory_limit(memory: int) -> int:
    """Address-space cap where no cgroup bounds memory: twice the memory limit (address space
    runs ahead of memory used), at least the 4 GiB ``import torch`` reserves."""
    warn_once(
        "memory-as-address-space",
        "no memory cgroup here: the worker's memory limit is "
        "enforced as an address-space limit (RLIMIT_AS), which is approximate",
    )
    return max(4 * GiB, 2 * memory)


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Linux ``PR_SET_PDEATHSIG``: this process gets ``sig`` when its parent dies (the worker
    when its judge dies; the judge, with SIGTERM, when its class runner dies)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, sig, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.append(key)
        print(f"dlcourse: {message}", file=sys.stderr)


def _rlimits(address_space: int | None, processes: int):
    def apply():  # in the child, between fork and exec
        die_with_parent()
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (GiB, GiB))
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
        if address_space:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    return apply


def has_gpu() -> bool:
    return Path("/dev/nvidiactl").exists()


def worker_env(scratch: Path, data_dir: Path) -> dict:
    """A small, explicit environment: nothing of the judge's leaks into the worker."""
    env = {
        key: os.environ[key]
        for key in (
            "PATH",
            "LANG",
            "LC_ALL",
            "CUDA_VISIBLE_DEVICES",
            "MKL_NUM_THREADS",
            "DLCOURSE_RUN_ID",
        )
        if key in os.environ
    }
    # the thread share the judge's CPU-time limits are sized for; threads that wait sleep
    # instead of spinning, so a busy machine does not inflate the CPU time a cell is charged
    env.update(OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), OMP_WAIT_POLICY="PASSIVE")
    env.update(
        HOME=str(scratch),
        TMPDIR=str(scratch),
        MPLCONFIGDIR=str(scratch),
        MPLBACKEND="Agg",
        DLCOURSE_GRADING="1",
        DLCOURSE_DATA=str(data_dir),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def public_data(folder: Path) -> Path:
    """A data root holding only the train/val file pair: the test split never reaches the worker."""
    source = data.raw_folder()
    if not all((source / name).is_file() for name in data.SHA256):
        source = data.raw_folder(data.ensure_mnist(log=lambda *_: None))
    raw = data.raw_folder(folder)
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        shutil.copyfile(source / name, raw / name)
        os.chmod(raw / name, 0o444)
    for path in (folder, folder / "MNIST", raw):
        os.chmod(path, 0o755)
    return folder


# --- choosing ---------------------------------------------------------------------------


def bwrap_works() -> bool:
    """Whether bubblewrap can build a sandbox here, as the user the worker would run as."""
    if shutil.which("bwrap") is None:
        return False
    cmd = [
        "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "true",
    ]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None or shutil.which("unshare") is None:
            return False
        cmd = [
            "setpriv",
            f"--reuid={SANDBOX_UID}",
            f"--regid={SANDBOX_UID}",
            "--clear-groups",
            "--",
            *cmd,
        ]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def choose(isolation: str) -> str:
    """Resolve ``auto``; say once, on stderr, when isolation is reduced."""
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {ISOLATIONS}")
    if isolation == "auto":
        isolation = "bwrap" if bwrap_works() else "rlimits"
    elif isolation == "bwrap" and not bwrap_works():
        raise RuntimeError(
            "--isolation bwrap was asked for, but bubblewrap cannot create a sandbox "
            "here (not installed, or user namespaces are blocked: see docs/security.md)"
        )
    if isolation == "rlimits":
        warn_once(
            "rlimits",
            "bubblewrap is not available; student code runs in a plain subprocess with "
            "resource limits (reduced isolation: it can read what the grader's user can read)",
        )
    return isolation


# --- cgroups (v1 memory and pids, as root) ------------------------------------------------


def _sweep_stale(age: float = 3600) -> None:
    """Remove our cgroups left empty by a judge that was killed (hours old: never a live one)."""
    for folder in (CGROUP_ROOT, CGROUP_ROOT / "memory", CGROUP_ROOT / "pids", CGROUP_ROOT / "cpu"):
        for path in folder.glob("dlcourse-*"):
            try:
                if (
                    time.time() - path.stat().st_mtime > age
                    and not (path / "cgroup.procs").read_text().strip()
                ):
                    path.rmdir()
            except OSError:
                pass


def _cgroup_layout(name: str, memory: int, processes: int) -> list[tuple[Path, dict]]:
    """Where a worker's cgroups go: one unified cgroup (v2), or one per controller (v1)."""
    if (CGROUP_ROOT / "cgroup.controllers").is_file():  # cgroup v2
        return [(CGROUP_ROOT / name, {"memory.max": memory, "pids.max": processes})]
    return [
        (CGROUP_ROOT / "memory" / name, {"memory.limit_in_bytes": memory}),
        (CGROUP_ROOT / "pids" / name, {"pids.max": processes}),
    ]


def _cpu_cgroup(name: str) -> tuple[Path, dict] | None:
    """A CPU quota of the worker's thread share of the cores, where the machine has the
    controller: a worker that forks a hundred busy processes cannot starve the other workers
    (its own verdict is bounded by CPU-time limits already). Optional: none where absent."""
    threads = max(1, int(os.environ.get("OMP_NUM_THREADS", "1") or 1))
    quota = {"cpu.cfs_period_us": 100_000, "cpu.cfs_quota_us": 100_000 * threads}
    if (CGROUP_ROOT / "cgroup.controllers").is_file():
        return None  # v2: set on the unified cgroup below
    if (CGROUP_ROOT / "cpu" / "cpu.cfs_quota_us").is_file():
        return CGROUP_ROOT / "cpu" / name, quota
    return None


class Cgroups:
    """Fresh memory and pids cgroups per worker (v1 or v2), where the machine has them and we
    are root."""

    def __init__(self, memory: int, processes: int):
        self.paths: list[Path] = []
        if os.geteuid() != 0:
            return
        _sweep_stale()
        name = f"dlcourse-{uuid.uuid4().hex[:12]}"
        layout = _cgroup_layout(name, memory, processes)
        for path, settings in layout:
            try:
                path.mkdir()
                for key, value in settings.items():
                    (path / key).write_text(str(value))
                self.paths.append(path)
            except OSError:
                try:
                    path.rmdir()
                except OSError:
                    pass
        if len(self.paths) < len(layout):
            self.remove()
            self.paths = []
            return
        cpu = _cpu_cgroup(name)
        if cpu is not None:
            try:
                cpu[0].mkdir()
                for key, value in cpu[1].items():
                    (cpu[0] / key).write_text(str(value))
                self.paths.append(cpu[0])
            except OSError:
                try:
                    cpu[0].rmdir()
                except OSError:
                    pass

    @property
    def active(self) -> bool:
        return bool(self.paths)

    def join_command(self) -> str:
        """Shell that moves the current process into the cgroups (children inherit them)."""
        return "; ".join(f"echo $$ > {shlex.quote(str(p / 'cgroup.procs'))}" for p in self.paths)

    def kill_all(self):
        for path in self.paths:
            for _ in range(20):
                try:
                    pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    def remove(self):
        self.kill_all()
        for path in self.paths:
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)


# --- spawning -----------------------------------------------------------------------------


def _readable_paths() -> list[str]:
    """What the worker's Python needs: its installation, the virtualenv, the course package."""
    import dlcourse

    package = Path(dlcourse.__file__).resolve().parent
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), str(package)}
    return sorted(p for p in paths if not any(p != q and p.startswith(q + os.sep) for q in paths))


def _bwrap_args(binds: list[tuple[str, str]], data_dir: str, scratch_bytes: int) -> list[str]:
    args = [
        "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        "--ro-bind",
        "/usr",
        "/usr",
        "--ro-bind",
        "/etc",
        "/etc",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(scratch_bytes),
        "--tmpfs",
        "/scratch",
        "--size",
        str(64 << 20),
        "--tmpfs",
        "/tmp",
        "--ro-bind",
        data_dir,
        "/data",
        "--chdir",
        "/scratch",
    ]
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            args += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            args += ["--ro-bind", f"/{link}", f"/{link}"]
    for source, target in binds:
        args += ["--ro-bind", source, target]
    if has_gpu():  # CUDA needs its device nodes and driver information
        for dev in sorted(Path("/dev").glob("nvidia*")):
            args += ["--dev-bind", str(dev), str(dev)]
        args += ["--ro-bind", "/sys", "/sys"]
    return args


def spawn_worker(
    isolation: str,
    scratch: Path,
    data_dir: Path,
    env: dict,
    *,
    memory: int = 6 * GiB,
    processes: int = 256,
) -> tuple[subprocess.Popen, Cgroups | None]:
    """Start a worker with pipes on stdin/stdout/stderr; return it and its cgroups (if any)."""
    pipes = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if isolation == "rlimits":
        limit = None if has_gpu() else memory_limit(memory)  # CUDA reserves far more address space
        if os.geteuid() == 0:
            warn_once(
                "nproc-root",
                "the process limit cannot be enforced for root without a pids "
                "cgroup (RLIMIT_NPROC does not apply to root)",
            )
        proc = subprocess.Popen(
            worker_command(),
            cwd=scratch,
            env=env,
            start_new_session=True,
            preexec_fn=_rlimits(limit, processes),
            **pipes,
        )
        return proc, None
    env = dict(
        env, HOME="/scratch", TMPDIR="/scratch", MPLCONFIGDIR="/scratch", DLCOURSE_DATA="/data"
    )
    readable = _readable_paths()
    if os.geteuid() != 0:  # already unprivileged: bubblewrap directly, rlimits bound memory
        args = _bwrap_args([(p, p) for p in readable], str(data_dir), 1 * GiB)
        proc = subprocess.Popen(
            args
            + ["--", *worker_command(os.path.join(os.path.realpath(sys.prefix), "bin", "python"))],
            env=env,
            start_new_session=True,
            preexec_fn=_rlimits(None if has_gpu() else memory_limit(memory), processes),
            **pipes,
        )
        return proc, None
    # As root: cgroups, a private mount namespace that makes the needed folders reachable at
    # staging mount points, then drop to an unprivileged uid, then bubblewrap.
    cgroups = Cgroups(memory, processes)
    sources = readable + [str(data_dir)]
    STAGING.mkdir(mode=0o755, parents=True, exist_ok=True)
    stage = []
    for index in range(len(sources)):
        point = STAGING / str(index)
        point.mkdir(mode=0o755, exist_ok=True)
        stage.append(str(point))
    binds = list(zip(stage[:-1], readable))
    python = os.path.join(os.path.realpath(sys.prefix), "bin", "python")
    inner = _bwrap_args(binds, stage[-1], 1 * GiB) + ["--", *worker_command(python)]
    drop = [
        "setpriv",
        f"--reuid={SANDBOX_UID}",
        f"--regid={SANDBOX_UID}",
        "--clear-groups",
        "--no-new-privs",
        "--",
    ]
    script = "; ".join(
        ([cgroups.join_command()] if cgroups.active else [])
        + [
            f"mount --bind {shlex.quote(src)} {shlex.quote(dst)}"
            for src, dst in zip(sources, stage)
        ]
        + ["exec " + shlex.join(drop + inner)]
    )
    cmd = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-ec", script]
    if not cgroups.active:
        warn_once(
            "no-cgroups",
            "no memory/pids cgroups could be made: memory is bounded as address "
            "space, and the process limit by RLIMIT_NPROC of the sandbox user",
        )
    proc = subprocess.Popen(
        cmd,
        env=env,
        start_new_session=True,
        preexec_fn=_rlimits(
            None if cgroups.active or has_gpu() else memory_limit(memory),
            4096 if cgroups.active else processes,
        ),
        **pipes,
    )
    return proc, cgroups


def kill(proc: subprocess.Popen, cgroups: Cgroups | None = None) -> None:
    """Kill the worker and everything it started (its session, its pid namespace, its cgroups)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if cgroups is not None:
        cgroups.kill_all()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    if cgroups is not None:
        cgroups.remove()
