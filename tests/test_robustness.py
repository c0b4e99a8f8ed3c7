"""Malformed submissions, and class runs that are killed and resumed: a grade for everyone,
exactly once, never half-written, and never a crash of the class run."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import ROOT, full_points, grade_cells, grade_json, hidden_tests, submit

pytestmark = pytest.mark.slow  # every test here grades a class

A = "01_logistic_regression"
SOURCE = (ROOT / "source" / A / f"{A}.ipynb").read_text()
RELEASE = (ROOT / "release" / A / f"{A}.ipynb").read_text()


def _without_metadata(text: str) -> str:
    nb = json.loads(text)
    nb.pop("metadata")
    for cell in nb["cells"]:
        cell.pop("metadata", None)
        cell.pop("id", None)
    nb["nbformat_minor"] = 4
    return json.dumps(nb)


def _with(text: str, **changes) -> str:
    nb = json.loads(text)
    nb.update(changes)
    return json.dumps(nb)


def _many_cells(n: int) -> str:
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [{"cell_type": "markdown", "metadata": {}, "source": "x"}] * n,
        }
    )


def _flipped(text: str, seed: int) -> bytes:
    data = bytearray(text.encode())
    rng = random.Random(seed)
    for _ in range(20):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


MALFORMED = {
    "truncated_a": SOURCE[: len(SOURCE) // 3],
    "truncated_b": SOURCE[:-2],
    "empty_file": "",
    "nbformat_3": _with(SOURCE, nbformat=3),
    "nbformat_5": _with(SOURCE, nbformat=5),
    "nbformat_string": _with(SOURCE, nbformat="4"),
    "not_utf8": SOURCE.encode()[:500] + b"\xff\xfe\xfa" + SOURCE.encode()[500:],
    "cells_not_a_list": _with(SOURCE, cells={"a": 1}),
    "cell_is_a_string": _with(SOURCE, cells=["print(1)"]),
    "source_is_a_number": _with(
        SOURCE, cells=[{"cell_type": "code", "source": 42, "metadata": {}}]
    ),
    "json_array": "[1, 2, 3]",
    "deeply_nested": "[" * 100_000 + "]" * 100_000,
    "hundred_thousand_cells": _many_cells(100_000),
    **{f"flipped_{seed}": _flipped(SOURCE, seed) for seed in range(4)},
}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    for student, content in MALFORMED.items():
        submit(folder, student, A, content)
    huge = submit(folder, "huge_outputs", A, "")
    nb = json.loads(SOURCE)
    nb["cells"][1]["outputs"] = [
        {"output_type": "display_data", "metadata": {}, "data": {"image/png": "A" * (300 * 2**20)}}
    ]
    huge.write_text(json.dumps(nb))
    submit(folder, "no_metadata", A, _without_metadata(SOURCE))
    submit(folder, "zz_honest", A, SOURCE)
    results = grade_json(
        A, folder, folder / "grading", "--workers", "2", "--limit", "notebook_seconds=120"
    )
    return {r["student"]: r for r in results}, folder / "grading"


def test_every_malformed_notebook_gets_zero_and_a_reason(fuzzed):
    results, _ = fuzzed
    for student in [s for s in MALFORMED if not s.startswith("flipped")] + ["huge_outputs"]:
        result = results[student]
        assert result["score"] == 0, student
        message = result["tests"][0]["message"]
        assert message and "internal grader error" not in message, (student, message)


def test_specific_messages(fuzzed):
    results, _ = fuzzed
    message = {s: r["tests"][0]["message"] for s, r in results.items()}
    assert "not valid JSON" in message["truncated_a"]
    assert "nbformat 3" in message["nbformat_3"]
    assert "not UTF-8" in message["not_utf8"]
    assert "100000 cells" in message["hundred_thousand_cells"]
    assert "MiB" in message["huge_outputs"]


def test_randomly_corrupted_notebooks_are_graded_without_crashing(fuzzed):
    results, _ = fuzzed
    for seed in range(4):
        result = results[f"flipped_{seed}"]
        assert 0 <= result["score"] <= full_points(A) and len(result["tests"]) == len(
            hidden_tests(A)
        )
        assert all("internal grader error" not in t["message"] for t in result["tests"])


def test_missing_metadata_is_not_a_problem(fuzzed):
    assert fuzzed[0]["no_metadata"]["score"] == full_points(A)


def test_the_class_run_completes_and_records_everyone(fuzzed):
    results, out = fuzzed
    assert results["zz_honest"]["score"] == full_points(A)
    with sqlite3.connect(out / "gradebook.db") as conn:
        graded = {row[0] for row in conn.execute("SELECT student_id FROM submitted_assignment")}
    assert graded == set(results)


# --- killed and resumed --------------------------------------------------------------


def _graded(db) -> list[tuple]:
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT s.student_id, COUNT(g.id), SUM(g.auto_score IS NULL), s.timestamp FROM submitted_assignment s "
            "JOIN submitted_notebook n ON n.assignment_id = s.id JOIN grade g ON g.notebook_id = n.id "
            "GROUP BY s.id"
        ).fetchall()


def test_sigkill_mid_class_then_rerun_grades_everyone_exactly_once(tmp_path):
    students = [f"s{i}" for i in range(6)]
    for student in students:
        submit(tmp_path, student, A, RELEASE)
    out = tmp_path / "grading"
    cmd = [
        sys.executable,
        "-m",
        "dlcourse",
        "--course",
        str(ROOT),
        "grade",
        A,
        str(tmp_path),
        "--out",
        str(out),
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 300
    while (
        len(_graded(out / "gradebook.db")) < 2
        and time.monotonic() < deadline
        and proc.poll() is None
    ):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _graded(out / "gradebook.db")
    assert 2 <= len(partial) < len(students), "the run should have been killed part-way"
    assert all(count == grade_cells(A) and missing == 0 for _, count, missing, _ in partial)

    results = grade_json(A, tmp_path, out, "--workers", "2")
    assert sorted(r["student"] for r in results) == students
    final = _graded(out / "gradebook.db")
    assert sorted(row[0] for row in final) == students  # once each: (assignment, student) is unique
    assert all(count == grade_cells(A) and missing == 0 for _, count, missing, _ in final)
    kept = {row[0]: row[3] for row in partial}
    assert all(kept[s] == t for s, _, _, t in final if s in kept), (
        "graded submissions were skipped, not regraded"
    )

    written = {s: (out / "results" / s / f"{A}.json").stat().st_mtime_ns for s in students}
    regraded = grade_json(A, tmp_path, out, "--force")
    assert [r["score"] for r in regraded] == [0.0] * len(students)
    assert all(
        (out / "results" / s / f"{A}.json").stat().st_mtime_ns != written[s] for s in students
    )
    # the gradebook's timestamp is the hand-in time (the file's), so regrading keeps it
    assert {s: t for s, _, _, t in _graded(out / "gradebook.db")} == {s: t for s, _, _, t in final}
