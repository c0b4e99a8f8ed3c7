"""GPU check for Modules 5 and 6: grade their solutions with CUDA, and time the final project's
recipe to 99 % test accuracy. Run it on a machine with a GPU; it refuses to run without one.

    .venv/bin/python benchmarks/gpu_check.py [--all]   # prints a report; save it in benchmarks/results/

With --all, the other four modules' solutions are graded on the GPU too (after the benchmark):
every grader's float32 tolerances must hold there as well as on the CPU.

The report names the card. Each solution goes through the judge (`python -m dlcourse.judge`),
the same process `dlcourse grade` starts per submission, so the worker picks CUDA exactly as it
would in a class run; only the gradebook write is left out (it needs no GPU). The time to 99 %
comes from mnist_time_to_99.py, run on the same card.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("05_convolutional_networks", "06_mnist_cnn_project")
OTHERS = (
    "01_logistic_regression",
    "02_softmax_regression",
    "03_shallow_networks",
    "04_deep_networks",
)


def judge(assignment: str, isolation: str) -> tuple[dict | None, float, str]:
    """Grade the assignment's solution notebook; return the judge's result, seconds, stderr."""
    notebook = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        start = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "dlcourse.judge",
                "--course",
                str(ROOT),
                "--assignment",
                assignment,
                "--notebook",
                str(notebook),
                "--out",
                str(out),
                "--isolation",
                isolation,
            ],
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        result = json.loads(out.read_text()) if done.returncode == 0 and out.exists() else None
    return result, seconds, done.stderr


def report(assignment: str, isolation: str) -> bool:
    result, seconds, stderr = judge(assignment, isolation)
    if result is None:
        print(
            f"{assignment} ({isolation}): the judge failed after {seconds:.1f} s\n{stderr[-3000:]}"
        )
        return False
    score = sum(t["points"] for t in result["tests"])
    total = sum(t["max_points"] for t in result["tests"])
    failed = [f"{t['name']}: {t['message'][:300]}" for t in result["tests"] if not t["passed"]]
    print(
        f"{assignment} ({isolation}): {score:g}/{total:g} in {seconds:.1f} s, "
        f"{len(result['tests'])} tests, restarts {result['restarts']}, error {result['error']}"
    )
    slow = sorted(result["execution"], key=lambda c: -(c.get("seconds") or 0))[:3]
    print("  slowest cells: " + ", ".join(f"{c['id']} {c.get('seconds') or 0:.1f} s" for c in slow))
    for line in failed:
        print(f"  FAILED {line}")
    return bool(result["tests"]) and not failed


def main():
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: run this on a machine with a GPU")
    print(
        f"card: {torch.cuda.get_device_name(0)}; torch {torch.__version__}, CUDA {torch.version.cuda}; "
        f"Python {platform.python_version()}; host {platform.node()}",
        flush=True,
    )
    from dlcourse import sandbox

    isolation = sandbox.choose("auto")
    print(f"isolation: {isolation}", flush=True)
    ok = True
    for assignment in ASSIGNMENTS:
        ok &= report(assignment, isolation)
        sys.stdout.flush()
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "mnist_time_to_99.py")])
    if "--all" in sys.argv[1:]:
        for assignment in OTHERS:
            ok &= report(assignment, isolation)
            sys.stdout.flush()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
