"""Throughput of grading a class on a Dask cluster against today's local `--workers`.

The same class (Module 1; solutions, untouched releases and half-done notebooks) is graded
three ways on this machine: `dlcourse grade --workers W` (local judges), and through
`--scheduler` with one and with two `dask worker` processes (one thread each). Prints
submissions per minute and their ratios, and the engine's own cost per task: a no-op task
with the same payload (a notebook's bytes) through scheduler, transfer and result, against
the median grading task's duration (from the scheduler's task stream); goal: under 2 %.

    python benchmarks/cluster_throughput.py [--students 30] [--workers 2]

Writes benchmarks/results/cluster_throughput.json (with the machine it ran on).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import submit  # noqa: E402 (after the sys.path lines)
from dlcourse import demo  # noqa: E402
from dlcourse.course import Course  # noqa: E402
from dlcourse.notebook import read  # noqa: E402

A = "01_logistic_regression"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_class(folder: Path, n: int) -> Path:
    course = Course(ROOT)
    kinds = [
        read(course.solution_notebook(A)),
        read(course.release_notebook(A)),
        demo.partial(course, A),
    ]
    for i in range(n):
        submit(folder, f"s{i:03d}", A, kinds[i % 3])
    return folder


def grade(folder: Path, out: Path, *extra: str, env: dict) -> float:
    start = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "dlcourse",
            "--course",
            str(ROOT),
            "grade",
            A,
            str(folder),
            "--out",
            str(out),
            "--format",
            "json",
            *extra,
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    return time.monotonic() - start


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    import dask
    import distributed

    return {
        "host": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "python": platform.python_version(),
        "dask": dask.__version__,
        "distributed": distributed.__version__,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2, help="local judges at once")
    parser.add_argument("--noop", type=int, default=200, help="no-op tasks to time")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "cluster_throughput.json"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dlcourse-bench-"))
    # one torch thread per judge, as the local run sets it (the workers share this machine)
    env = {
        **os.environ,
        "DLCOURSE_ROOT": str(ROOT),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    folder = build_class(tmp / "class", args.students)
    procs = []
    load = [os.getloadavg()[0]]
    try:
        wall = {
            f"local --workers {args.workers}": grade(
                folder, tmp / "local", "--workers", str(args.workers), env=env
            )
        }
        load.append(os.getloadavg()[0])
        address = f"tcp://127.0.0.1:{free_port()}"
        dask = [sys.executable, "-m", "dask"]
        procs.append(
            subprocess.Popen(
                [
                    *dask,
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    address.rsplit(":", 1)[1],
                    "--no-dashboard",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        from distributed import Client

        client = Client(address, timeout="60s")
        client.get_task_stream()  # starts the scheduler's task-stream record
        durations = []
        for n in (1, 2):
            procs.append(
                subprocess.Popen(
                    [
                        *dask,
                        "worker",
                        address,
                        "--name",
                        f"w{n}",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            client.wait_for_workers(n, timeout=120)
            since = time.time()
            name = f"dask, {n} worker{'s' * (n > 1)}"
            wall[name] = grade(folder, tmp / f"dask{n}", "--scheduler", address, env=env)
            load.append(os.getloadavg()[0])
            for task in client.get_task_stream(start=since):
                if str(task["key"]).startswith("judge-"):
                    durations += [
                        s["stop"] - s["start"]
                        for s in task["startstops"]
                        if s["action"] == "compute"
                    ]
        from dlcourse.cluster import noop_task

        payload = (folder / "submitted" / "s000" / A / f"{A}.ipynb").read_bytes()
        latencies = []
        for i in range(args.noop):
            start = time.perf_counter()
            client.submit(noop_task, payload, key=f"noop-{i}", pure=False).result()
            latencies.append(time.perf_counter() - start)
        client.close()
    finally:
        for proc in reversed(procs):
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    rate = {name: args.students / seconds * 60 for name, seconds in wall.items()}
    base = rate[f"local --workers {args.workers}"]
    median_task = statistics.median(durations)
    noop = statistics.median(latencies)
    result = {
        "machine": machine(),
        "students": args.students,
        "assignment": A,
        "load_average_1min": [round(x, 2) for x in load],
        "wall_seconds": {k: round(v, 2) for k, v in wall.items()},
        "submissions_per_minute": {k: round(v, 2) for k, v in rate.items()},
        "ratio_to_local": {k: round(v / base, 3) for k, v in rate.items()},
        "median_grading_task_seconds": round(median_task, 3),
        "noop_task_seconds_median": round(noop, 5),
        "noop_task_seconds_p95": round(sorted(latencies)[int(0.95 * len(latencies))], 5),
        "engine_cost_share_of_median_task": round(noop / median_task, 5),
        "goal_engine_cost_share": 0.02,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    for name in wall:
        print(
            f"{name:22s} {wall[name]:7.1f} s  {rate[name]:6.1f} submissions/min  "
            f"x{rate[name] / base:.2f} of local"
        )
    print(
        f"median grading task {median_task:.2f} s; no-op task {noop * 1000:.1f} ms "
        f"= {noop / median_task:.2%} of it (goal < 2 %)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"recorded in {args.out}")


if __name__ == "__main__":
    main()
