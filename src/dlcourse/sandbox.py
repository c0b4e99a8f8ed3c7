"""How the worker process is started and contained.

``rlimits``: a plain subprocess in its own session with resource limits (memory, file
size, open files, no core dumps), in an empty scratch folder, with only the public data
splits. The judge kills its whole process group at the end.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from dlcourse import data

GiB = 1 << 30
WORKER = [sys.executable, "-I", "-m", "dlcourse.worker"]
ISOLATIONS = ("auto", "rlimits")


def memory_limit() -> int:
    """Address-space cap: 3/4 of physical memory, at least the 4 GiB ``import torch`` needs."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(4 * GiB, physical * 3 // 4)


def _limit_resources():  # runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (GiB, GiB))
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    if not os.environ.get("CUDA_VISIBLE_DEVICES", "x") == "" and shutil.which("nvidia-smi"):
        return  # CUDA reserves far more address space than it uses: no RLIMIT_AS with a GPU
    limit = memory_limit()
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def worker_env(scratch: Path, data_dir: Path) -> dict:
    """A small, explicit environment: nothing of the judge's leaks into the worker."""
    env = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "CUDA_VISIBLE_DEVICES",
                                            "OMP_NUM_THREADS", "MKL_NUM_THREADS") if key in os.environ}
    env.update(HOME=str(scratch), TMPDIR=str(scratch), MPLCONFIGDIR=str(scratch),
               MPLBACKEND="Agg", DLCOURSE_GRADING="1", DLCOURSE_DATA=str(data_dir),
               PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    return env


def public_data(folder: Path) -> Path:
    """A data root holding only the train/val file pair: the test split never reaches the worker."""
    source = data.raw_folder(data.ensure_mnist(log=lambda *_: None))
    raw = data.raw_folder(folder)
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        shutil.copyfile(source / name, raw / name)
        os.chmod(raw / name, 0o444)
    return folder


def spawn_worker(isolation: str, scratch: Path, data_dir: Path, env: dict) -> subprocess.Popen:
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {ISOLATIONS}")
    return subprocess.Popen(WORKER, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=scratch, env=env,
                            start_new_session=True, preexec_fn=_limit_resources)


def kill(proc: subprocess.Popen) -> None:
    """Kill the worker and everything it started in its session."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
