"""Stopping a class run stops all of its grading (issue #16).

A class run is ended with SIGINT, SIGTERM or SIGKILL at a random moment; then within 10 s no
judge or worker process of that run remains, nothing under the grading folder changes any
more, and a rerun grades every student exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import ROOT, grade_json, submit, with_solutions
from dlcourse.notebook import read

A = "01_logistic_regression"
STUDENTS = [f"s{i}" for i in range(5)]


def run_processes(run_id: str) -> list[int]:
    """Processes whose environment carries this run's id (judges, workers, their children)."""
    marker = f"DLCOURSE_RUN_ID={run_id}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as f:
                    if marker in f.read().split(b"\0"):
                        found.append(int(entry.name))
            except OSError:
                pass
    return found


def snapshot(folder: Path) -> dict:
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    }


def graded(db: Path) -> list[str]:
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return [row[0] for row in conn.execute("SELECT student_id FROM submitted_assignment")]


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory):
    """Five full solutions (the longest Module 1 runs: every probe answers)."""
    folder = tmp_path_factory.mktemp("stop-class")
    solution = with_solutions(
        read(ROOT / "release" / A / f"{A}.ipynb"), read(ROOT / "source" / A / f"{A}.ipynb")
    )
    for student in STUDENTS:
        submit(folder, student, A, solution)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"]
)
def test_a_stopped_run_leaves_nothing_running_and_resumes(class_folder, tmp_path, sig):
    out = tmp_path / "grading"
    run_id = uuid.uuid4().hex
    env = {**os.environ, "DLCOURSE_RUN_ID": run_id}
    cmd = [
        sys.executable,
        "-m",
        "dlcourse",
        "--course",
        str(ROOT),
        "grade",
        A,
        str(class_folder),
        "--out",
        str(out),
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    # a random moment once judging has begun: in a notebook's cells, its probes, or a write
    deadline = time.monotonic() + 120
    while not run_processes(run_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(random.uniform(0.5, 6.0))
    os.kill(
        proc.pid, sig
    )  # the runner only, as `timeout` or `kill` would: its children must follow
    if sig == signal.SIGINT:
        try:
            proc.wait(timeout=90)  # the first Ctrl-C lets the submissions being graded finish
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGINT)  # a second one ends at once
    proc.wait(timeout=60)
    stderr = proc.stderr.read().decode(errors="replace")
    if sig == signal.SIGINT and proc.returncode != 0:
        assert "Run the same command again" in stderr
    gone = time.monotonic() + 10
    while run_processes(run_id) and time.monotonic() < gone:
        time.sleep(0.1)
    assert run_processes(run_id) == [], "judges or workers outlived the class run"
    before = snapshot(out) if out.exists() else {}
    time.sleep(3)
    assert (snapshot(out) if out.exists() else {}) == before, "files changed after the run ended"
    partial = graded(out / "gradebook.db")
    assert len(partial) == len(set(partial)) < len(STUDENTS) or sig == signal.SIGINT

    results = grade_json(A, class_folder, out, "--workers", "2")
    assert sorted(r["student"] for r in results) == STUDENTS
    failed = {
        r["student"]: [t["message"] for t in r["tests"] if not t["passed"]]
        for r in results
        if r["score"] != r["max_score"]
    }
    assert not failed, failed
    final = graded(out / "gradebook.db")
    assert sorted(final) == STUDENTS, "every student graded exactly once"
