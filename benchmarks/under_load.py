"""Verdicts must not depend on the machine's load: run test files idle and with every core busy.

    python benchmarks/under_load.py [--hogs N] [--record] [pytest args, default tests/test_judge.py]

Runs the given tests twice: once as the machine is, once with N busy processes (default: one per
core, plus one) spinning for the whole run, and prints both outcomes side by side with the wall
time ratio. The grading limits are CPU-time limits, so the same tests must pass in both runs;
only the wall time may grow. ``--record`` appends the result, with the machine, to
``benchmarks/results/under_load_<date>.txt``.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def spin(stop):
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def run_tests(args: list[str]) -> tuple[str, float, int]:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    summary = next(
        (
            line
            for line in reversed(done.stdout.splitlines())
            if re.search(r"\d+ (passed|failed)", line)
        ),
        done.stdout[-300:],
    )
    return summary.strip("= "), time.monotonic() - start, done.returncode


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hogs", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument("--record", action="store_true")
    args, pytest_args = parser.parse_known_args()
    pytest_args = pytest_args or ["tests/test_judge.py"]

    idle = run_tests(pytest_args)
    idle_load = load_average()
    stop = multiprocessing.Event()
    hogs = [
        multiprocessing.Process(target=spin, args=(stop,), daemon=True) for _ in range(args.hogs)
    ]
    for hog in hogs:
        hog.start()
    try:
        time.sleep(5)
        loaded = run_tests(pytest_args)
        busy_load = load_average()
    finally:
        stop.set()
        for hog in hogs:
            hog.join(5)
    lines = [
        f"{datetime.date.today()} {platform.node()}: {os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}",
        f"tests: {' '.join(pytest_args)}",
        f"as found (load {idle_load}):        {idle[0]}  in {idle[1]:.0f} s",
        f"{args.hogs} busy processes (load {busy_load}): {loaded[0]}  in {loaded[1]:.0f} s",
        f"wall-time ratio loaded / as found: {loaded[1] / idle[1]:.2f}; same verdicts: "
        f"{'yes' if idle[2] == loaded[2] == 0 else 'NO'}",
    ]
    print("\n".join(lines))
    if args.record:
        out = ROOT / "benchmarks" / "results" / f"under_load_{datetime.date.today()}.txt"
        with out.open("a") as f:
            f.write("\n".join(lines) + "\n\n")
    sys.exit(0 if idle[2] == loaded[2] == 0 else 1)


if __name__ == "__main__":
    main()
