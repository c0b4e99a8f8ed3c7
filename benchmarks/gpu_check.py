"""GPU check for Modules 5 and 6: grade their solutions with CUDA, and time the final project's
recipe to 99 % test accuracy. Run it on a machine with a GPU; it refuses to run without one.

    .venv/bin/python benchmarks/gpu_check.py        # prints a report; save it in benchmarks/results/

The report names the card. Grading goes through `dlcourse grade` exactly as on the CPU (the worker
picks CUDA when `torch.cuda.is_available()`); the time to 99 % comes from mnist_time_to_99.py.
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


def main():
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: run this on a machine with a GPU")
    print(f"card: {torch.cuda.get_device_name(0)}; torch {torch.__version__}, CUDA {torch.version.cuda}; "
          f"host {platform.node()}")
    ok = True
    for assignment in ASSIGNMENTS:
        notebook = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "dlcourse", "--course", str(ROOT), "grade", assignment,
                                   str(notebook), "--out", out, "--json", "--force"],
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - start
        if done.returncode != 0:
            print(f"{assignment}: grading failed\n{done.stderr[-2000:]}")
            ok = False
            continue
        result = json.loads(done.stdout)
        failed = [t["name"] for t in result["tests"] if not t["passed"]]
        ok &= not failed
        print(f"{assignment}: {result['score']:g}/{result['max_score']:g} in {seconds:.1f} s"
              + (f"; failed: {', '.join(failed)}" if failed else ""))
    race = ROOT / "benchmarks" / "mnist_time_to_99.py"
    if race.exists():
        print(subprocess.run([sys.executable, str(race)], capture_output=True, text=True).stdout)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
