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
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from dlcourse import protocol, sandbox
from dlcourse.course import Course, Limits, parse_limits
from dlcourse.errors import ProbeError
from dlcourse.notebook import SubmissionError, read_code_cells

STDERR_TAIL = 20_000


class WorkerProcess:
    """One worker: started, fed the notebook's cells, asked probes, killed at the end."""

    def __init__(self, probes_source: str, cells: list[dict], limits: Limits, scratch: Path,
                 data_dir: Path, isolation: str):
        self.limits = limits
        self.started = time.monotonic()  # the notebook's clock
        self.cells_run: list[dict] = []
        self.stderr_tail = b""
        env = sandbox.worker_env(scratch, data_dir)
        self.proc, self.cgroups = sandbox.spawn_worker(isolation, scratch, data_dir, env,
                                                       memory=limits.memory_mb << 20,
                                                       processes=limits.processes)
        self.fd = self.proc.stdout.fileno()
        self._buffer = bytearray()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        # sent on first use: encoding needs torch, which the judge imports while the worker starts
        self._unsent = [{"op": "setup", "probes": probes_source, "cell_seconds": limits.cell_seconds},
                        {"op": "run", "cells": cells}]
        self._pending = ["setup", "run"]  # replies still owed, in order

    # --- plumbing -----------------------------------------------------------------
    def _drain_stderr(self):
        for chunk in iter(lambda: self.proc.stderr.read(4096), b""):
            self.stderr_tail = (self.stderr_tail + chunk)[-STDERR_TAIL:]

    def _send(self, msg):
        try:
            protocol.write_frame(self.proc.stdin, msg)
        except (BrokenPipeError, OSError):
            pass  # a dead worker shows up as EOF when its answer is read

    def _read(self, size: int, deadline: float) -> bytes:
        while len(self._buffer) < size:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, max(1 << 16, min(size - len(self._buffer), 1 << 24)))
                if not chunk:
                    raise EOFError
                self._buffer += chunk
        data, self._buffer = bytes(self._buffer[:size]), self._buffer[size:]
        return data

    def _recv(self, deadline: float):
        (size,) = protocol.HEADER.unpack(self._read(protocol.HEADER.size, deadline))
        if size > protocol.MAX_FRAME:
            raise protocol.ProtocolError(f"an answer of {size} bytes is over the limit")
        return protocol.decode(self._read(size, deadline))

    def _reply(self, deadline: float) -> dict:
        """The next ``done`` message; cell events on the way are recorded."""
        while True:
            msg = self._recv(deadline)
            if not isinstance(msg, dict):
                raise protocol.ProtocolError("the worker sent something that is not a message")
            if msg.get("event") == "cell":
                self.cells_run.append({k: msg.get(k) for k in ("index", "id", "status", "error", "seconds")})
            elif msg.get("done") is True:
                return msg
            else:
                raise protocol.ProtocolError("the worker sent an unknown message")

    def finish_run(self) -> None:
        """Wait for the notebook's cells to finish (within the notebook's time limit)."""
        while self._unsent:
            self._send(self._unsent.pop(0))
        deadline = self.started + self.limits.notebook_seconds + 30
        while self._pending:
            self._reply(deadline)
            self._pending.pop(0)

    def call(self, name: str, inputs: dict):
        self.finish_run()
        seconds = self.limits.probe_seconds
        self._send({"op": "probe", "name": name, "inputs": inputs, "seconds": seconds})
        reply = self._reply(time.monotonic() + seconds + 15)
        if reply.get("ok") is True and "value" in reply:
            return reply["value"]
        error = reply.get("error")
        raise ProbeError(error if isinstance(error, str) else "your code's answer was not usable")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self):
        sandbox.kill(self.proc, self.cgroups)


class Submission:
    """What graders see as the ``nb`` fixture: the notebook, reachable only through probes."""

    def __init__(self, course: Course, assignment: str, notebook: Path | None, isolation: str,
                 limits: Limits, probes_source: str | None = None):
        self.limits = limits
        self.probes_source = probes_source or (course.graders(assignment) / "probes.py").read_text()
        self.isolation = sandbox.choose(isolation)
        self.error: str | None = None  # why the notebook cannot be graded at all
        self.cells: list[dict] = []
        self.execution: list[dict] = []
        self.restarts = 0
        self.ran = False  # the notebook's cells have been run
        self.worker: WorkerProcess | None = None
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
        self.worker = WorkerProcess(self.probes_source, self.cells, self.limits, scratch,
                                    self.data_dir, self.isolation)

    def _run_notebook(self) -> None:
        """Run the notebook's cells once, keeping what happened in each for the feedback.

        A cell that ends the worker's process is blanked and the notebook run again (within the
        restart limit): an ``os._exit`` in one cell costs that cell, not the whole submission.
        """
        self.ran = True
        killed: dict[int, dict] = {}
        timeouts = 0
        while True:
            worker = self.worker
            try:
                worker.finish_run()
                break
            except (TimeoutError, EOFError, protocol.ProtocolError) as exc:
                index = len(worker.cells_run)  # the cell that was running
                failure = type(exc)
            if failure is TimeoutError:
                # once: a cell that hung past the whole notebook's limit is skipped on a rerun
                if timeouts == 0 and self._skip_and_restart(index, killed, "this cell did not stop at its "
                                                            "time limit and was skipped"):
                    timeouts += 1
                    continue
                self.error = (f"the notebook did not finish within {self.limits.notebook_seconds:.0f} s "
                              f"(it was in cell {index + 1})")
            elif failure is protocol.ProtocolError:
                self.error = f"the notebook's process sent garbage while running cell {index + 1}"
            else:  # EOFError: the process ended
                if self._skip_and_restart(index, killed, "this cell ended the process (sys.exit, os._exit, "
                                                         "a crash or too much memory); it was skipped"):
                    continue
                self.error = f"the notebook's process stopped while running cell {index + 1}"
            worker.kill()
            break
        self.execution = [killed.get(cell["index"], cell) for cell in worker.cells_run]

    def _skip_and_restart(self, index: int, killed: dict, reason: str) -> bool:
        """Blank cell ``index`` and start a fresh worker, if the restart budget allows."""
        if index >= len(self.cells) or self.restarts >= self.limits.restarts:
            return False
        self.worker.kill()
        killed[index] = {"index": index, "id": self.cells[index]["id"], "status": "error",
                         "error": reason, "seconds": 0.0}
        self.cells[index] = {**self.cells[index], "source": ""}
        self.restarts += 1
        self._start()
        return True

    def call(self, probe: str, **inputs):
        """Ask the student's code for data. Raises ProbeError (the test then fails)."""
        if self.error is None and not self.ran:
            self._run_notebook()
        if self.error is not None:
            raise ProbeError(self.error)
        if not self.worker.alive():
            if self.restarts >= self.limits.restarts:
                raise ProbeError("your code stopped the grading process too often; remaining checks were skipped")
            self.restarts += 1
            self._start()
        try:
            return self.worker.call(probe, inputs)
        except TimeoutError:
            self.worker.kill()
            raise ProbeError(f"your code did not answer within {self.limits.probe_seconds:.0f} s") from None
        except EOFError:
            self.worker.kill()
            raise ProbeError("your code ended the process (sys.exit, os._exit, a crash or too much memory)") from None
        except protocol.ProtocolError as exc:
            self.worker.kill()
            raise ProbeError(f"your code's answer could not be read: {exc}") from None

    def close(self):
        if self.worker is not None:
            if not self.ran and self.error is None:
                self._run_notebook()
            self.worker.kill()
        shutil.rmtree(self._tmp, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--notebook", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--course", type=Path)
    parser.add_argument("--isolation", default="auto")
    parser.add_argument("--limit", action="append", help="override a time limit: NAME=SECONDS")
    parser.add_argument("--list", action="store_true", help="only list the graders")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only our plugin: none of the venv's
    course = Course(args.course)
    if args.list:
        from dlcourse.plugin import list_tests

        result = {"tests": list_tests(course, args.assignment)}
    else:
        limits = course.limits(args.assignment, **parse_limits(args.limit))
        # the worker starts first: its imports overlap with the judge's own (torch, pytest)
        submission = Submission(course, args.assignment, args.notebook, args.isolation, limits)
        from dlcourse.plugin import run_graders

        result = run_graders(course, args.assignment, submission)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
