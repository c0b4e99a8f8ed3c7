"""Grading on a Dask cluster: one task per submission, the ``dlcourse grade`` process the writer.

A task carries data only (the notebook's bytes, the assignment, the limit overrides, the seeds,
a hash of the client's ``autograder/<assignment>/``) and runs on a worker that has the course
package installed: :func:`judge_task` checks the worker's own graders have the same hash and
runs the usual judge on the bytes (:func:`dlcourse.grade.judge_bytes`: ``python -m
dlcourse.judge``, which starts the sandboxed worker). Gradebook, feedback and results are
written only by the client, from the results :func:`judged_pairs` yields.

A worker that dies mid-task has its task rerun elsewhere (the scheduler's
``distributed.scheduler.allowed-failures``; ``retries`` covers exceptions); a task that fails
every try becomes that student's error record. A stopped run (a second Ctrl-C, SIGTERM, a lost
client) releases its tasks, and a running task whose key is released stops its judge.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import socket
import sys
import threading
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


_isolation_here: dict[str, str] = {}


def judge_task(
    assignment: str,
    notebook_bytes: bytes,
    overrides: dict,
    graders: str,
    isolation: str,
    seed: int | None = None,
    seeds: dict | None = None,
) -> dict:
    """The Dask task: grade one notebook on this worker with this worker's own course.

    Raises :class:`GradersDiffer` when this worker's ``autograder/<assignment>/`` is not the
    client's (the same hash also means the same ``assignment.toml`` limits, so only the
    client's overrides travel). Runs :func:`dlcourse.grade.judge_bytes`, stopping its judge
    when the task is released (its run cancelled, its client gone). The result's ``grader``
    says which worker graded it.
    """
    from distributed import get_worker

    from dlcourse import sandbox
    from dlcourse.grade import Run, judge_bytes

    course = Course()  # $DLCOURSE_ROOT, else the package's checkout
    worker = get_worker()
    name = str(worker.name if worker.name is not None else worker.address)
    mine = graders_hash(course.graders(assignment))
    if mine != graders:
        raise GradersDiffer(
            f"worker {name} on {socket.gethostname()} has other graders for "
            f"{assignment} than the client (hash {mine[:12]} here, {graders[:12]} "
            f"there): update the course on that worker ({course.root})"
        )
    if isolation not in _isolation_here:
        _isolation_here[isolation] = sandbox.choose(isolation)
    # the worker's threads share its cores: more torch threads than cores makes OpenMP crawl
    os.environ.setdefault(
        "OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // max(1, worker.state.nthreads)))
    )
    key = worker.get_current_task()
    run = Run()
    finished = threading.Event()

    def stop_when_released():
        while not finished.wait(0.5):
            task = worker.state.tasks.get(key)
            if task is None or task.state in ("cancelled", "released", "forgotten"):
                run.stopped = signal.SIGTERM
                run.stop_all()
                return

    threading.Thread(target=stop_when_released, daemon=True).start()
    try:
        judged = judge_bytes(
            course,
            assignment,
            notebook_bytes,
            _isolation_here[isolation],
            course.limits(assignment, **overrides),
            overrides,
            run,
            seed,
            seeds,
        )
    finally:
        finished.set()
    grader = judged.get("grader") if isinstance(judged.get("grader"), dict) else {}
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

    files = {
        k: course_config.setting(course_root, k)
        for k in ("tls_ca_file", "tls_client_cert", "tls_client_key")
    }
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
    except Exception as exc:  # noqa: BLE001 (timeouts, refused TLS, a bad address: one message)
        raise ClusterLost(
            f"cannot reach the Dask scheduler at {address}: {exc or type(exc).__name__}"
        ) from None


def judged_pairs(
    course: Course,
    assignment: str,
    jobs: list,
    *,
    scheduler: str,
    isolation: str,
    overrides: dict,
    run,
    seed: int | None = None,
    replay: dict | None = None,
):
    """Yield ``(job, judged)`` as the cluster finishes them, for :func:`dlcourse.grade.grade`.

    ``run`` is the class run's :class:`dlcourse.grade.Run` (made ``immediate`` on a cluster:
    every signal stops at once); once it is stopped, or when the caller leaves early, every
    task still queued or running is cancelled, so the workers stop their judges.
    """
    if not jobs:
        return  # nothing to grade: no need for the scheduler either
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    from dlcourse.notebook import SubmissionError, open_regular

    graders = graders_hash(course.graders(assignment))
    resources = {"GPU": 1} if wants_gpu(course, assignment) else None
    limit = int(course_config.setting(course.root, "in_flight") or IN_FLIGHT)
    client = connect(scheduler, course.root)
    futures: dict = {}
    lost = (
        f"lost the Dask scheduler at {scheduler} mid-run; what was graded is saved: run the "
        "same command again for the rest"
    )
    try:
        pending = list(jobs)
        done = as_completed(loop=client.loop)
        refused: list[str] = []

        def submit_more():
            while pending and len(futures) < limit and not run.stopped:
                job = pending.pop(0)
                if job.notebook is None:
                    yield job, {"error": job.problem or "no notebook was submitted"}
                    continue
                try:
                    data = open_regular(job.notebook, job.root)
                except SubmissionError as exc:
                    yield job, {"error": str(exc)}
                    continue
                except OSError as exc:
                    yield job, {"error": f"the notebook could not be opened ({exc.strerror})"}
                    continue
                key = f"judge-{assignment}-{job.student}-{os.getpid()}-{time.time_ns()}"
                future = client.submit(
                    judge_task,
                    assignment,
                    data,
                    overrides,
                    graders,
                    isolation,
                    seed,
                    (replay or {}).get(job.student),
                    key=key,
                    pure=False,
                    retries=RETRIES,
                    resources=resources,
                )
                futures[future] = job
                done.add(future)

        yield from submit_more()
        while futures:
            if run.stopped:
                return
            batch = done.next_batch(block=False)
            if not batch:
                if client.status not in ("running", "connecting"):
                    raise ClusterLost(lost)
                time.sleep(0.1)
                continue
            for future in batch:
                job = futures.pop(future)
                if future.status == "finished":
                    judged = future.result()
                elif future.status == "cancelled" or client.status not in ("running", "connecting"):
                    raise ClusterLost(lost)
                else:
                    exc = future.exception()
                    if isinstance(exc, GradersDiffer):
                        refused.append(job.student)
                        print(f"dlcourse: {job.student} not graded: {exc}", file=sys.stderr)
                        continue
                    if isinstance(exc, KilledWorker):
                        judged = {
                            "error": "the machines grading this notebook stopped every time "
                            "it ran; please tell your instructor"
                        }
                    else:
                        judged = {
                            "error": "internal grader error: a problem on our side, not in "
                            "your notebook; your instructor was told",
                            "internal_error": f"the Dask task failed: {exc!r}",
                        }
                yield job, judged
            yield from submit_more()
        if refused:
            raise GradersDiffer(
                f"{len(refused)} submission(s) not graded because a worker's "
                "graders differ from this course's (see above)"
            )
    except FutureCancelledError:
        raise ClusterLost(lost) from None
    finally:
        if futures:
            try:
                client.cancel(list(futures), force=True)
            except Exception:  # noqa: BLE001 (the scheduler may be gone already)
                pass
        client.close(timeout=10)
