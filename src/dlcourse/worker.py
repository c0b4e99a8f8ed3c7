"""The untrusted side: run a student's code cells, then answer the judge's probes with data.

Started by the judge as ``python -I -m dlcourse.worker`` with two pipes. Everything in this
process is under the student's control once the first cell runs, so nothing here decides
a grade: it only executes code and sends back tensors and plain values. The judge checks
every answer itself.

Messages (each a :mod:`dlcourse.protocol` frame):
  judge → worker  {"op": "setup", "probes": <probe module source>, "cell_cpu": s, "notebook_cpu": s}
                  {"op": "run", "cells": [{"id", "source"}, ...]}
                  {"op": "probe", "name": str, "inputs": dict, "cpu": s}
  worker → judge  {"event": "cell", "index", "id", "status", "error", "seconds", "cpu"} per cell,
                  then {"done": True, "cpu": s, ...} for each request.

Time limits are in **CPU seconds** of this process (all its threads: ``ITIMER_PROF``), so a
busy grading machine, which stretches wall-clock time, changes no verdict. The judge enforces
the same limits from outside (it measures the worker's process tree and stops it), and a
wall-clock backstop stops code that sleeps or waits.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import time
import traceback
from contextlib import contextmanager


class TimeLimit(BaseException):
    """Raised inside student code when a cell or probe runs past its soft time limit."""


def _alarm(signum, frame):
    raise TimeLimit("time limit reached")


class MissingName(AttributeError):
    pass


class Notebook:
    """The executed notebook's names, as probes see them: ``nb.LogisticRegression``."""

    def __init__(self, namespace: dict, device):
        self._ns = namespace
        self.device = device

    def __getattr__(self, name):
        try:
            return self._ns[name]
        except KeyError:
            raise MissingName(f"your notebook does not define `{name}`") from None

    def has(self, name: str) -> bool:
        return name in self._ns

    def names(self) -> list[str]:
        """The notebook's public names."""
        return sorted(k for k in self._ns if not k.startswith("_"))

    @contextmanager
    def substitute(self, **replacements):
        """Temporarily replace notebook names (say, helpers by reference versions), so that a
        probe exercises one function and not the student's other functions it calls."""
        missing = object()
        saved = {name: self._ns.get(name, missing) for name in replacements}
        self._ns.update(replacements)
        try:
            yield
        finally:
            for name, old in saved.items():
                if old is missing:
                    self._ns.pop(name, None)
                else:
                    self._ns[name] = old


def describe(exc: BaseException) -> str:
    """One line about an exception raised by student code: type, message, where."""
    if isinstance(exc, TimeLimit):
        return "time limit reached"
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if frame.filename.startswith("<ipython-input") or frame.filename.startswith("<cell"):
            where = f" (in `{frame.name}`, line {frame.lineno})"
            break
    message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}{where}" if message else f"{type(exc).__name__}{where}"


def sanitize(value, depth: int = 0):
    """Turn a probe's return value into plain data: CPU tensors, dicts, lists, scalars."""
    import numpy as np
    import torch

    if depth > 20:
        raise TypeError("value nested too deeply")
    if isinstance(value, torch.Tensor):
        tensor = value.detach().to("cpu").clone()
        return tensor.as_subclass(torch.Tensor) if type(tensor) is not torch.Tensor else tensor
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (bool, int, float, str, type(None))):
        return type(value)(value) if type(value) in (bool, int, float, str) else value
    if isinstance(value, torch.dtype):
        return str(value)
    if isinstance(value, dict):
        return {
            str(k) if not isinstance(k, int) else int(k): sanitize(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):  # torch.Size is a tuple
        return (
            [sanitize(v, depth + 1) for v in value]
            if isinstance(value, list)
            else tuple(sanitize(v, depth + 1) for v in value)
        )
    raise TypeError(f"a probe returned a value of type {type(value).__name__}")


class Worker:
    def __init__(self, inbox, outbox):
        self.inbox, self.outbox = inbox, outbox
        self.probes: dict = {}
        self.cell_cpu = 120.0
        self.notebook_cpu = 600.0
        self.shell = None
        self.nb = None

    # --- requests -------------------------------------------------------------------
    def setup(self, msg):
        import torch

        self.cell_cpu = float(msg.get("cell_cpu", 120))
        self.notebook_cpu = float(msg.get("notebook_cpu", 600))
        module: dict = {"__name__": "dlcourse_probes"}
        exec(compile(msg["probes"], "<probes>", "exec"), module)
        self.probes = {k: v for k, v in module.items() if callable(v) and not k.startswith("_")}
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance(colors="NoColor")
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.nb = Notebook(self.shell.user_ns, device)
        return {"device": str(device)}

    def run(self, msg):
        from dlcourse import protocol

        failures = 0
        started = cpu_seconds()
        for index, cell in enumerate(msg["cells"]):
            start, start_cpu = time.monotonic(), cpu_seconds()
            left = self.notebook_cpu - (start_cpu - started)
            if left <= 0:
                error = "skipped: the notebook had used all of its CPU time"
            else:
                error = self._run_cell(cell["source"], min(self.cell_cpu, left))
            _leave_if_forked()
            if error:
                failures += 1
            protocol.write_frame(
                self.outbox,
                {
                    "event": "cell",
                    "index": index,
                    "id": cell.get("id", ""),
                    "status": "error" if error else "ok",
                    "error": error,
                    "seconds": round(time.monotonic() - start, 3),
                    "cpu": round(cpu_seconds() - start_cpu, 3),
                },
            )
        return {"cells": len(msg["cells"]), "failed": failures}

    def _run_cell(self, source: str, cpu: float) -> str:
        signal.setitimer(signal.ITIMER_PROF, cpu)
        timed_out = f"time limit reached (the cell used its {cpu:g} s of CPU time)"
        try:
            result = self.shell.run_cell(source, store_history=False, silent=False)
        except TimeLimit:
            return timed_out
        except BaseException as exc:  # e.g. an exception escaping IPython itself
            return describe(exc)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            _close_figures()
        exc = result.error_in_exec or result.error_before_exec
        if isinstance(exc, TimeLimit):
            return timed_out
        return describe(exc) if exc is not None else ""

    def probe(self, msg):
        fn = self.probes.get(msg["name"])
        if fn is None:
            return {"ok": False, "error": f"unknown probe {msg['name']!r}", "grader_error": True}
        cpu = float(msg.get("cpu", 60))
        signal.setitimer(signal.ITIMER_PROF, cpu)
        try:
            value = fn(self.nb, **msg.get("inputs", {}))
            value = sanitize(value)
        except MissingName as exc:
            return {"ok": False, "error": str(exc)}
        except TimeLimit:
            return {
                "ok": False,
                "error": f"your code did not finish within its {cpu:g} s of CPU time",
            }
        except BaseException as exc:  # SystemExit and KeyboardInterrupt included
            return {"ok": False, "error": f"your code raised {describe(exc)}"}
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            _leave_if_forked()
        return {"ok": True, "value": value}

    def serve(self):
        from dlcourse import protocol

        handlers = {"setup": self.setup, "run": self.run, "probe": self.probe}
        while True:
            _leave_if_forked()
            try:
                msg = protocol.read_frame(self.inbox, bounded=False)  # the judge's own messages
            except EOFError:
                return
            reply = handlers[msg["op"]](msg)
            reply["done"] = True
            reply["cpu"] = cpu_seconds()
            try:
                protocol.write_frame(self.outbox, reply)
            except Exception as exc:  # an answer that cannot be encoded
                protocol.write_frame(
                    self.outbox,
                    {
                        "done": True,
                        "ok": False,
                        "error": f"answer could not be sent: {describe(exc)}",
                    },
                )


WORKER_PID = os.getpid()


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its children that have ended."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _leave_if_forked():
    """A child forked by student code never speaks for the worker: it exits here."""
    if os.getpid() != WORKER_PID:
        os._exit(0)


def _close_figures():
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:
            pass


def main():
    # Keep private copies of the pipes, then point stdin/stdout elsewhere so that student
    # prints (and reads) never touch the protocol stream.
    inbox = os.fdopen(os.dup(0), "rb", buffering=0)
    outbox = os.fdopen(os.dup(1), "wb")
    # a process forked by student code loses the pipes at once (and exits when it returns to us)
    os.register_at_fork(after_in_child=lambda: [os.close(f.fileno()) for f in (inbox, outbox)])
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    signal.signal(signal.SIGPROF, _alarm)
    os.environ.setdefault("MPLBACKEND", "Agg")
    import torch  # noqa: F401 (now, while the judge is still importing its own)
    from IPython.core.interactiveshell import InteractiveShell  # noqa: F401

    Worker(inbox, outbox).serve()


if __name__ == "__main__":
    main()
