"""The trusted side of grading one notebook: hidden pytest graders asking a worker for data.

``python -m dlcourse.judge --assignment A --notebook NB --out results.json`` starts a
worker (:mod:`dlcourse.worker`) that runs the notebook's code cells, then runs the
pytest graders in ``autograder/A/``. Graders reach the student's code only through the
``nb`` fixture: ``nb.call("probe_name", **inputs)`` sends inputs the grader chose, the
worker runs the instructor's probe against the notebook's names, and what comes back is
checked plain data. Nothing from the student is imported or executed in this process.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import select
import shutil
import signal
import socket
import tempfile
import threading
import time
import traceback
from pathlib import Path

from dlcourse import protocol, sandbox
from dlcourse.course import Course, Limits, parse_limits
from dlcourse.errors import GraderError, ProbeError
from dlcourse.notebook import SubmissionError, read_code_cells
from dlcourse.text import CELL_ERROR_CHARS, CELL_ID_CHARS, MESSAGE_CHARS, clean

STDERR_TAIL = 20_000
SLICE = 0.25  # seconds between checks of a waiting worker's CPU use


def backstop(seconds: float) -> float:
    """The wall-clock backstop for a CPU-time limit: generous enough that load never reaches it
    for an honest notebook, it stops only code that sleeps or waits instead of computing."""
    return 3 * seconds + 60


class TimeLimit(TimeoutError):
    """A limit ran out while waiting for the worker; ``kind`` is "cpu" or "wall"."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def process_tree_cpu(root: int) -> float:
    """CPU seconds used so far by process ``root`` and all its descendants (from /proc: kernel
    data the worker cannot forge), including children they have already reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
    total, todo = 0.0, [root]
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo.extend(children.get(pid, ()))
    return total


class Allowance:
    """What one wait on the worker may cost: CPU seconds of its process tree, and wall time."""

    def __init__(self, worker: WorkerProcess, cpu: float, wall: float):
        self.worker, self.cpu_limit = worker, cpu
        self.cpu0, self.deadline = worker.cpu(), time.monotonic() + wall

    def check(self) -> float:
        """Seconds the next wait may block; raises TimeLimit when either limit has run out."""
        if self.worker.cpu() - self.cpu0 > self.cpu_limit:
            raise TimeLimit("cpu")
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeLimit("wall")
        return min(left, SLICE)


def threads() -> int:
    """The worker's thread share (the class runner sets OMP_NUM_THREADS to cores / workers)."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        return 1


def _check_cell_event(msg: dict, cells: int, seen: int) -> dict:
    """A cell event from the worker, checked field by field (it is untrusted data)."""
    index, seconds, cpu = msg.get("index"), msg.get("seconds"), msg.get("cpu", 0.0)
    status, error, ident = msg.get("status"), msg.get("error"), msg.get("id")
    ok = (
        type(index) is int
        and index == seen < cells
        and status in ("ok", "error")
        and isinstance(error, str)
        and isinstance(ident, str)
        and all(
            type(v) in (int, float) and math.isfinite(v) and 0 <= v < 1e7 for v in (seconds, cpu)
        )
    )
    if not ok:
        raise protocol.ProtocolError("the worker sent a malformed cell event")
    return {
        "index": index,
        "id": clean(ident, CELL_ID_CHARS, newlines=False),
        "status": status,
        "error": clean(error, CELL_ERROR_CHARS),
        "seconds": float(seconds),
        "cpu": float(cpu),
    }


class WorkerProcess:
    """One worker: started, fed the notebook's cells, asked probes, killed at the end."""

    def __init__(
        self,
        probes_source: str,
        cells: list[dict],
        limits: Limits,
        scratch: Path,
        data_dir: Path,
        isolation: str,
        budget: float | None = None,
    ):
        """``budget``: CPU seconds the submission has left, which bounds this worker's run too."""
        self.limits = limits
        self.threads = threads()
        self.cells_run: list[dict] = []
        self.n_cells = len(cells)
        self.stderr_tail = b""
        self.device = ""
        env = sandbox.worker_env(scratch, data_dir)
        self.proc, self.cgroups = sandbox.spawn_worker(
            isolation,
            scratch,
            data_dir,
            env,
            memory=limits.memory_mb << 20,
            processes=limits.processes,
        )
        LIVE.add(self)
        self.fd = self.proc.stdout.fileno()
        self._buffer = bytearray()
        self._cpu_done = 0.0  # CPU of this worker once it has been killed
        self.accounted = False  # added to its submission's CPU account
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        # the notebook's allowance runs from the start: the worker's own imports count
        notebook_cpu = limits.notebook_seconds * self.threads
        if budget is not None:
            notebook_cpu = max(0.0, min(notebook_cpu, budget))
        self.run_allowance = Allowance(
            self, cpu=notebook_cpu * 1.2 + 30, wall=backstop(limits.notebook_seconds)
        )
        # sent on first use: encoding needs torch, which the judge imports while the worker starts
        self._unsent = [
            {
                "op": "setup",
                "probes": probes_source,
                "cell_cpu": limits.cell_seconds * self.threads,
                "notebook_cpu": notebook_cpu,
            },
            {"op": "run", "cells": cells},
        ]
        self._pending = ["setup", "run"]  # replies still owed, in order

    # --- plumbing -----------------------------------------------------------------
    def cpu(self) -> float:
        """CPU seconds used by this worker's process tree (measured by the judge)."""
        if self.proc.poll() is not None:
            return self._cpu_done
        self._cpu_done = max(self._cpu_done, process_tree_cpu(self.proc.pid))
        return self._cpu_done

    def _drain_stderr(self):
        for chunk in iter(lambda: self.proc.stderr.read(4096), b""):
            self.stderr_tail = (self.stderr_tail + chunk)[-STDERR_TAIL:]

    def _send(self, msg):
        try:
            protocol.write_frame(self.proc.stdin, msg)
        except (BrokenPipeError, OSError):
            pass  # a dead worker shows up as EOF when its answer is read

    def _read(self, size: int, allowances: list[Allowance]) -> bytes:
        while len(self._buffer) < size:
            wait = min(a.check() for a in allowances)
            ready, _, _ = select.select([self.fd], [], [], wait)
            if ready:
                chunk = os.read(self.fd, max(1 << 16, min(size - len(self._buffer), 1 << 24)))
                if not chunk:
                    raise EOFError
                self._buffer += chunk
        data, self._buffer = bytes(self._buffer[:size]), self._buffer[size:]
        return data

    def _recv(self, allowances: list[Allowance]):
        (size,) = protocol.HEADER.unpack(self._read(protocol.HEADER.size, allowances))
        if size > protocol.MAX_ANSWER:
            raise protocol.ProtocolError(f"an answer of {size} bytes is over the limit")
        return protocol.decode(self._read(size, allowances))

    def _reply(self, allowances: list[Allowance], cell_allowance=None) -> dict:
        """The next ``done`` message; cell events on the way are recorded (each starts the
        next cell's allowance, when one is given)."""
        while True:
            if cell_allowance is not None:
                allowances = [*allowances[:1], cell_allowance()]
            msg = self._recv(allowances)
            if not isinstance(msg, dict):
                raise protocol.ProtocolError("the worker sent something that is not a message")
            if msg.get("event") == "cell":
                self.cells_run.append(_check_cell_event(msg, self.n_cells, len(self.cells_run)))
            elif msg.get("done") is True:
                return msg
            else:
                raise protocol.ProtocolError("the worker sent an unknown message")

    def _cell_allowance(self) -> Allowance:
        cpu = self.limits.cell_seconds * self.threads * 1.2 + 2
        if not self.cells_run:
            cpu += 30  # starting Python, torch and IPython
        return Allowance(self, cpu=cpu, wall=backstop(self.limits.cell_seconds))

    def finish_run(self) -> None:
        """Wait for the notebook's cells to finish (within the notebook's and each cell's limits)."""
        while self._unsent:
            self._send(self._unsent.pop(0))
        while self._pending:
            reply = self._reply([self.run_allowance], self._cell_allowance)
            if self._pending[0] == "setup" and isinstance(reply.get("device"), str):
                self.device = clean(reply["device"], 40, newlines=False)
            self._pending.pop(0)

    def call(self, name: str, inputs: dict, cpu: float, wall: float):
        self.finish_run()
        self._send({"op": "probe", "name": name, "inputs": inputs, "cpu": cpu})
        reply = self._reply([Allowance(self, cpu=cpu * 1.2 + 2, wall=wall)])
        if reply.get("ok") is True and "value" in reply:
            return reply["value"]
        error = reply.get("error")
        if reply.get("grader_error") is True:
            raise GraderError(f"the worker reports: {clean(error, MESSAGE_CHARS)}")
        raise ProbeError(
            clean(error, MESSAGE_CHARS)
            if isinstance(error, str)
            else "your code's answer was not usable"
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self):
        self.cpu()
        sandbox.kill(self.proc, self.cgroups)
        LIVE.discard(self)


LIVE: set[WorkerProcess] = set()  # killed on the way out, however the judge ends


def probe_signatures(source: str) -> dict[str, tuple[set[str], set[str], bool]]:
    """``{probe: (keyword names, required names, accepts **kwargs)}`` for the public functions
    of probes.py, read with ``ast`` (the judge never runs probe code)."""
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            args = node.args
            positional = [a.arg for a in args.posonlyargs + args.args][1:]  # after nb
            optional = positional[len(positional) - len(args.defaults) :] if args.defaults else []
            keywords = [a.arg for a in args.kwonlyargs]
            kw_optional = [
                a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None
            ]
            names = set(positional) | set(keywords)
            out[node.name] = (
                names,
                names - set(optional) - set(kw_optional),
                args.kwarg is not None,
            )
    return out


class Submission:
    """What graders see as the ``nb`` fixture: the notebook, reachable only through probes."""

    def __init__(
        self,
        course: Course,
        assignment: str,
        notebook: Path | None,
        isolation: str,
        limits: Limits,
        probes_source: str | None = None,
    ):
        self.limits = limits
        self.probes_source = probes_source or (course.graders(assignment) / "probes.py").read_text()
        self.probes = probe_signatures(self.probes_source)
        self.isolation = sandbox.choose(isolation)
        self.error: str | None = None  # why the notebook cannot be graded at all
        self.cells: list[dict] = []
        self.execution: list[dict] = []
        self.restarts = 0
        self.ran = False  # the notebook's cells have been run
        self.worker: WorkerProcess | None = None
        self.spent_cpu = 0.0  # CPU of the workers that have ended
        self.threads = threads()
        self.started = time.monotonic()
        self.out_of_time = False
        self._tmp = Path(tempfile.mkdtemp(prefix="dlcourse-judge-"))
        if notebook is None:
            self.error = "no notebook was submitted"
            return
        try:
            self.cells = read_code_cells(notebook)
        except SubmissionError as exc:
            self.error = str(exc)
            return
        self.data_dir = sandbox.public_data(self._tmp / "data")
        self._start()

    def _start(self):
        scratch = self._tmp / f"scratch{self.restarts}"
        scratch.mkdir()
        budget = self.limits.submission_seconds * self.threads - self.cpu()
        self.worker = WorkerProcess(
            self.probes_source,
            self.cells,
            self.limits,
            scratch,
            self.data_dir,
            self.isolation,
            budget,
        )

    def _retire(self, worker: WorkerProcess) -> None:
        """Kill a worker and add what it used to the submission's account (once)."""
        worker.kill()
        if not worker.accounted:
            worker.accounted = True
            self.spent_cpu += worker.cpu()

    def cpu(self) -> float:
        """CPU seconds this submission's workers have used in all."""
        live = self.worker.cpu() if self.worker is not None and not self.worker.accounted else 0.0
        return self.spent_cpu + live

    def _run_notebook(self) -> None:
        """Run the notebook's cells once, keeping what happened in each for the feedback.

        A cell that ends the worker's process is blanked and the notebook run again (within the
        restart limit): an ``os._exit`` in one cell costs that cell, not the whole submission.
        A cell that runs past its limit (CPU time, or the wall-clock backstop when it sleeps) is
        blanked the same way, once.
        """
        self.ran = True
        killed: dict[int, dict] = {}
        timeouts = 0
        while True:
            worker = self.worker
            try:
                worker.finish_run()
                break
            except (TimeLimit, EOFError, protocol.ProtocolError) as exc:
                index = len(worker.cells_run)  # the cell that was running
                failure = exc
            if isinstance(failure, TimeLimit):
                whole = worker.run_allowance
                if failure.kind == "cpu":
                    reason = "this cell used more CPU time than a cell may and was stopped; it was skipped"
                else:
                    reason = (
                        "this cell did not finish within its wall-clock backstop (it was waiting "
                        "or sleeping, not computing) and was skipped"
                    )
                ran_out = (
                    whole.cpu0 + whole.cpu_limit < worker.cpu() or time.monotonic() > whole.deadline
                )
                if timeouts == 0 and not ran_out and self._skip_and_restart(index, killed, reason):
                    timeouts += 1
                    continue
                limit = "CPU time" if failure.kind == "cpu" else "wall-clock time"
                self.error = (
                    f"the notebook did not finish within its {limit} limit "
                    f"({self.limits.notebook_seconds:g} s; it was in cell {index + 1})"
                )
            elif isinstance(failure, protocol.ProtocolError):
                self.error = f"the notebook's process sent garbage while running cell {index + 1}"
            else:  # EOFError: the process ended
                if self._skip_and_restart(
                    index,
                    killed,
                    "this cell ended the process (sys.exit, os._exit, "
                    "a crash or too much memory); it was skipped",
                ):
                    continue
                self.error = f"the notebook's process stopped while running cell {index + 1}"
            self._retire(worker)
            break
        self.execution = [killed.get(cell["index"], cell) for cell in worker.cells_run]

    def _skip_and_restart(self, index: int, killed: dict, reason: str) -> bool:
        """Blank cell ``index`` and start a fresh worker, if the restart budget allows."""
        if index >= len(self.cells) or self.restarts >= self.limits.restarts:
            return False
        self._retire(self.worker)
        killed[index] = {
            "index": index,
            "id": self.cells[index]["id"],
            "status": "error",
            "error": reason,
            "seconds": 0.0,
            "cpu": 0.0,
        }
        self.cells[index] = {**self.cells[index], "source": ""}
        self.restarts += 1
        self._start()
        return True

    def _budget(self) -> tuple[float, float]:
        """(CPU seconds, wall seconds) this submission may still use, all probes together."""
        cpu = self.limits.submission_seconds * self.threads - self.cpu()
        wall = self.started + backstop(self.limits.submission_seconds) - time.monotonic()
        return cpu, wall

    def call(self, probe: str, **inputs):
        """Ask the student's code for data. Raises ProbeError (the test then fails), or
        GraderError when the grader asked for something probes.py does not offer."""
        signature = self.probes.get(probe)
        if signature is None:
            raise GraderError(
                f"the grader asked for probe {probe!r}, which probes.py does not define"
            )
        names, required, any_keyword = signature
        if not required <= set(inputs) or not (any_keyword or set(inputs) <= names):
            raise GraderError(
                f"the grader called probe {probe!r} with {sorted(inputs)}; it takes {sorted(names)}"
            )
        if self.error is None and not self.ran:
            self._run_notebook()
        if self.error is not None:
            raise ProbeError(self.error)
        cpu_left, wall_left = self._budget()
        if self.out_of_time or cpu_left <= 0 or wall_left <= 0:
            self.out_of_time = True
            raise ProbeError(
                "grading time for this submission ran out; the remaining checks were skipped"
            )
        if not self.worker.alive():
            if self.restarts >= self.limits.restarts:
                raise ProbeError(
                    "your code stopped the grading process too often; remaining checks were skipped"
                )
            self._retire(self.worker)
            self.restarts += 1
            self._start()
        cpu = min(self.limits.probe_seconds * self.threads, cpu_left)
        wall = min(backstop(self.limits.probe_seconds), wall_left)
        try:
            return self.worker.call(probe, inputs, cpu, wall)
        except TimeLimit as exc:
            self._retire(self.worker)
            if cpu < self.limits.probe_seconds * self.threads or wall < backstop(
                self.limits.probe_seconds
            ):
                self.out_of_time = True
                raise ProbeError(
                    "grading time for this submission ran out; the remaining checks were skipped"
                ) from None
            if exc.kind == "cpu":
                raise ProbeError(
                    f"your code did not answer within its {self.limits.probe_seconds:g} s "
                    "of CPU time"
                ) from None
            raise ProbeError(
                f"your code did not answer within {wall:.0f} s of wall-clock time "
                "(it was waiting or sleeping, not computing)"
            ) from None
        except EOFError:
            self._retire(self.worker)
            raise ProbeError(
                "your code ended the process (sys.exit, os._exit, a crash or too much memory)"
            ) from None
        except protocol.ProtocolError as exc:
            self._retire(self.worker)
            raise ProbeError(f"your code's answer could not be read: {exc}") from None

    def grader(self) -> dict:
        """Where and how this submission was graded (for tracing a strange grade to a machine)."""
        device = self.worker.device if self.worker is not None else ""
        return {
            "host": socket.gethostname(),
            "isolation": self.isolation,
            "device": device or None,
            "threads": self.threads,
        }

    def close(self):
        if self.worker is not None:
            if not self.ran and self.error is None:
                try:
                    self._run_notebook()
                except Exception:
                    pass
            self._retire(self.worker)
        shutil.rmtree(self._tmp, ignore_errors=True)


def _end_now(signum, frame):
    """SIGTERM, SIGHUP, or the class runner gone: kill the workers, then leave at once (pytest
    would treat SystemExit inside a test as that test's failure and go on)."""
    for worker in list(LIVE):
        try:
            worker.kill()
        except Exception:
            pass
    os._exit(128 + (signum or signal.SIGTERM))


def _watch_parent() -> None:
    """End with the class runner even if it is killed with SIGKILL (PR_SET_PDEATHSIG is also set
    where it can be; this covers the rest)."""
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            _end_now(signal.SIGTERM, None)


def judge(
    course: Course,
    assignment: str,
    notebook: Path | None,
    isolation: str,
    limits: Limits,
    seed: int | None = None,
    seeds: dict | None = None,
) -> dict:
    """Grade one notebook file; a failure of ours becomes an ``internal_error`` result (with
    its traceback for the instructor), never a crash."""
    started = time.monotonic()
    submission = None
    try:
        # the worker starts first: its imports overlap with the judge's own (torch, pytest)
        submission = Submission(course, assignment, notebook, isolation, limits)
        from dlcourse.plugin import run_graders

        result = run_graders(course, assignment, submission, seed=seed, seeds=seeds)
    except Exception:
        if submission is not None:
            submission.close()
        result = {
            "tests": [],
            "error": "internal grader error: a problem on our side, not in your "
            "notebook; your instructor was told",
            "internal_error": traceback.format_exc(),
        }
    result["grader"] = (
        submission.grader()
        if submission is not None
        else {
            "host": socket.gethostname(),
            "isolation": isolation,
            "device": None,
            "threads": threads(),
        }
    )
    result["seconds"] = round(time.monotonic() - started, 3)
    result["cpu_seconds"] = round(submission.cpu(), 3) if submission is not None else 0.0
    result["limits"] = {k: getattr(limits, k) for k in limits.__dataclass_fields__}
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--notebook", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--course", type=Path)
    parser.add_argument("--isolation", default="auto")
    parser.add_argument("--limit", action="append", help="override a limit: NAME=VALUE")
    parser.add_argument("--seed", type=int, help="base seed: every test's seed is derived from it")
    parser.add_argument("--seeds", type=Path, help="JSON {test name: seed} (a replay)")
    parser.add_argument("--list", action="store_true", help="only list the graders")
    args = parser.parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _end_now)
    sandbox.die_with_parent(signal.SIGTERM)  # the class runner gone: clean up and leave
    threading.Thread(target=_watch_parent, daemon=True).start()
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only our plugin: none of the venv's
    course = Course(args.course)
    if args.list:
        from dlcourse.plugin import list_tests

        result = {"tests": list_tests(course, args.assignment)}
    else:
        limits = course.limits(args.assignment, **parse_limits(args.limit))
        seeds = json.loads(args.seeds.read_text()) if args.seeds else None
        result = judge(
            course, args.assignment, args.notebook, args.isolation, limits, args.seed, seeds
        )
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
