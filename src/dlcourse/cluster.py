"""Grading on a Dask cluster: one task per submission, the ``dlcourse grade`` process the writer.

A task carries data only (the notebook's bytes, the assignment, the limits, a hash of the
client's ``autograder/<assignment>/``) and runs on a worker that has the course package
installed: :func:`judge_task` checks the worker's own graders have the same hash, runs the
usual judge on the bytes (``python -m dlcourse.judge``, which starts the sandboxed worker) and
returns the judge's result. Gradebook, feedback and results are written only by the client.

A worker that dies mid-task has its task rerun elsewhere (the scheduler's
``distributed.scheduler.allowed-failures``; ``retries`` covers exceptions); a task that fails
every try becomes that student's error record. A cancelled run (Ctrl-C, SIGTERM, a lost
client) releases its tasks, and a running task whose key is released stops its judge.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from dlcourse import course_config
from dlcourse.course import Course

RETRIES = 2  # reruns of a task that raised (a lost worker is retried by the scheduler)
IN_FLIGHT = 256  # tasks submitted at once: bounds the client's memory for notebook bytes
GPU_DEVICES = {"cuda", "prefer-cuda"}


class GradersDiffer(RuntimeError):
    """A worker's graders are not the client's: it refuses to grade with other graders."""


class ClusterLost(RuntimeError):
    """The scheduler went away mid-run; what was graded is committed, a rerun does the rest."""


def graders_hash(folder: Path) -> str:
    """SHA-256 of an assignment's graders: every file's relative path and bytes.

    ``assignment.toml`` counts without its ``[deadline]`` table: moving a due date is the
    client's business (it applies penalties) and needs no new graders on the workers.
    """
    digest = hashlib.sha256()
    folder = Path(folder)
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if "__pycache__" in rel.parts or path.suffix == ".pyc" or not path.is_file():
            continue
        data = path.read_bytes()
        if rel.as_posix() == "assignment.toml":
            table = tomllib.loads(data.decode())
            table.pop("deadline", None)
            data = json.dumps(table, sort_keys=True, default=str).encode()
        digest.update(rel.as_posix().encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def wants_gpu(course: Course, assignment: str) -> bool:
    """``device = "cuda"`` or ``"prefer-cuda"`` in the assignment's ``assignment.toml``."""
    path = course.graders(assignment) / "assignment.toml"
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        return tomllib.load(f).get("device", "cpu") in GPU_DEVICES


def read_notebook(job) -> bytes:
    """The submission's bytes, read once on the client with the same checks as a local run
    (:func:`dlcourse.notebook.open_regular`: no link on its path, one link, size-checked)."""
    from dlcourse.notebook import SubmissionError, open_regular

    if job.notebook is None:
        raise SubmissionError(job.problem or "no notebook was submitted")
    return open_regular(job.notebook, job.root)


# The judge gets SIGTERM when the thread that started it dies (prctl PR_SET_PDEATHSIG, kept
# across exec), so a killed or closed Dask worker leaves no judge grading for nobody.
DIE_WITH_PARENT = (
    "import ctypes, os, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, 15)\n"
    "os.getppid() == int(sys.argv[1]) or os._exit(1)\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'dlcourse.judge', *sys.argv[2:]])\n")


def _judge_bytes(course_root: Path, assignment: str, notebook_bytes: bytes, isolation: str,
                 limits: dict, timeout: float, should_stop=lambda: False,
                 env: dict | None = None) -> dict:
    """Judge a notebook given as bytes, in a private folder; never raises for the student.

    Like :func:`dlcourse.grade.judge_bytes`, plus ``should_stop``: polled while the judge
    runs, true stops the judge (a cancelled task).
    """
    with tempfile.TemporaryDirectory(prefix="dlcourse-task-") as tmp:
        notebook = Path(tmp) / "submission" / f"{assignment}.ipynb"
        notebook.parent.mkdir(mode=0o700)
        notebook.write_bytes(notebook_bytes)
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-c", DIE_WITH_PARENT, str(os.getpid()), "--assignment", assignment,
               "--course", str(course_root), "--notebook", str(notebook), "--out", str(out),
               "--isolation", isolation, *(f"--limit={k}={v}" for k, v in limits.items())]
        log = Path(tmp) / "judge.log"
        with open(log, "wb") as sink:
            proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            deadline = time.monotonic() + timeout
            stopped = None
            while proc.poll() is None:
                if should_stop():
                    stopped = "the grading run was cancelled"
                elif time.monotonic() > deadline:
                    stopped = f"grading took longer than {timeout:.0f} s and was stopped"
                if stopped:
                    _stop(proc)
                    return {"error": stopped, "cancelled": should_stop()}
                time.sleep(0.2)
        if not out.is_file():
            tail = log.read_bytes()[-2000:].decode(errors="replace")
            print(f"internal grader error:\n{tail}", file=sys.stderr)
            return {"error": "internal grader error; please tell your instructor"}
        return json.loads(out.read_text())


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the judge's process group (the judge cleans up its worker), then SIGKILL."""
    for sig, wait in ((15, 5), (9, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue


_isolation_here: dict[str, str] = {}


def judge_task(assignment: str, notebook_bytes: bytes, limits: dict, graders: str,
               isolation: str, timeout: float) -> dict:
    """The Dask task: grade one notebook on this worker with this worker's own course.

    Raises :class:`GradersDiffer` when this worker's ``autograder/<assignment>/`` is not the
    client's. The result's ``grader`` says which worker graded it.
    """
    from distributed import get_worker

    from dlcourse import sandbox

    course = Course()  # $DLCOURSE_ROOT, else the package's checkout
    worker = get_worker()
    name = str(worker.name if worker.name is not None else worker.address)
    mine = graders_hash(course.graders(assignment))
    if mine != graders:
        raise GradersDiffer(f"worker {name} on {socket.gethostname()} has other graders for "
                            f"{assignment} than the client (hash {mine[:12]} here, {graders[:12]} "
                            f"there): update the course on that worker ({course.root})")
    if isolation not in _isolation_here:
        _isolation_here[isolation] = sandbox.choose(isolation)
    key = worker.get_current_task()

    def released() -> bool:
        task = worker.state.tasks.get(key)
        return task is None or task.state in ("cancelled", "released", "forgotten")

    # the worker's threads share its cores: more torch threads than cores makes OpenMP crawl
    threads = os.environ.get("OMP_NUM_THREADS") or str(
        max(1, (os.cpu_count() or 1) // max(1, worker.state.nthreads)))
    judged = _judge_bytes(course.root, assignment, notebook_bytes, _isolation_here[isolation],
                          limits, timeout, released, {**os.environ, "OMP_NUM_THREADS": threads})
    grader = judged.setdefault("grader", {}) if isinstance(judged.get("grader"), dict) else {}
    judged["grader"] = {**grader, "worker": name, "worker_address": worker.address}
    judged["grader"].setdefault("host", socket.gethostname())
    judged["grader"].setdefault("isolation", _isolation_here[isolation])
    return judged


def noop_task(payload: bytes) -> dict:
    """The engine's own cost per task (benchmark): the same path, nothing graded."""
    from distributed import get_worker

    return {"bytes": len(payload), "grader": {"worker": str(get_worker().name)}}


def security(course_root: Path):
    """A ``distributed.Security`` from ``course.toml``'s TLS files, or None (Dask's config)."""
    from distributed.security import Security

    files = {k: course_config.setting(course_root, k)
             for k in ("tls_ca_file", "tls_client_cert", "tls_client_key")}
    if not any(files.values()):
        return None
    if not all(files.values()):
        raise ValueError("course.toml: give all of tls_ca_file, tls_client_cert, tls_client_key")
    return Security(**files, require_encryption=True)


def connect(address: str, course_root: Path):
    """A client of the scheduler at ``address`` (tcp://, or tls:// with the course's files)."""
    from distributed import Client

    sec = security(course_root)
    logging.getLogger("distributed.client").setLevel(logging.CRITICAL)  # we say what went wrong
    try:
        return Client(address, security=sec, timeout="20s", set_as_default=False)
    except OSError as exc:
        raise ClusterLost(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def judged_pairs(course: Course, assignment: str, jobs: list, *, scheduler: str, isolation: str,
                 timeout: float, limits: dict):
    """Yield ``(job, judged)`` as the cluster finishes them; cancels what is left on the way out.

    Leaving early (an exception in the caller's loop, Ctrl-C, ``close()``) cancels every task
    still queued or running, so the workers stop their judges.
    """
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    from dlcourse.notebook import SubmissionError

    if not jobs:
        return  # nothing to grade: no need for the scheduler either
    graders = graders_hash(course.graders(assignment))
    resources = {"GPU": 1} if wants_gpu(course, assignment) else None
    limit = int(course_config.setting(course.root, "in_flight") or IN_FLIGHT)
    client = connect(scheduler, course.root)
    futures: dict = {}
    try:
        pending = list(jobs)
        done = as_completed(loop=client.loop)
        refused: list[str] = []

        def submit_more():
            while pending and len(futures) < limit:
                job = pending.pop(0)
                try:
                    data = read_notebook(job)
                except (SubmissionError, OSError) as exc:
                    yield job, {"error": job.problem or str(exc)}
                    continue
                key = f"judge-{assignment}-{job.student}-{os.getpid()}-{time.time_ns()}"
                future = client.submit(judge_task, assignment, data, limits, graders, isolation,
                                       timeout, key=key, pure=False, retries=RETRIES,
                                       resources=resources)
                futures[future] = job
                done.add(future)

        yield from submit_more()
        for future in done:
            job = futures.pop(future)
            if future.status == "finished":
                judged = future.result()
            elif future.status == "cancelled" or client.status not in ("running", "connecting"):
                raise ClusterLost(f"lost the Dask scheduler at {scheduler} mid-run; what was "
                                  "graded is saved: run the same command again for the rest")
            else:
                exc = future.exception()
                if isinstance(exc, GradersDiffer):
                    refused.append(job.student)
                    print(f"dlcourse: {job.student} not graded: {exc}", file=sys.stderr)
                    yield from submit_more()
                    continue
                if isinstance(exc, KilledWorker):
                    judged = {"error": "the machines grading this notebook stopped every time it "
                                       "ran; please tell your instructor"}
                else:
                    print(f"internal grader error for {job.student}: {exc!r}", file=sys.stderr)
                    judged = {"error": "internal grader error; please tell your instructor"}
            yield job, judged
            yield from submit_more()
        if refused:
            raise GradersDiffer(f"{len(refused)} submission(s) not graded because a worker's "
                                "graders differ from this course's (see above)")
    except FutureCancelledError:
        raise ClusterLost(f"lost the Dask scheduler at {scheduler} mid-run; what was graded is "
                          "saved: run the same command again for the rest") from None
    finally:
        if futures:
            try:
                client.cancel(list(futures), force=True)
            except Exception:  # noqa: BLE001 (the scheduler may be gone already)
                pass
        client.close(timeout=10)
