"""One submission affects only its own grade (issue #10): whatever it is or sends, the class run
finishes, honest students keep full marks, records stay small and safe to show, only the
student's own regular file is graded, and a submission's grading slot is bounded."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, cell_points, full_points, grade_json, submit, with_solutions
from dlcourse.notebook import read

A = "01_logistic_regression"
LIMITS = [
    "--limit",
    "cell_seconds=12",
    "--limit",
    "notebook_seconds=60",
    "--limit",
    "probe_seconds=10",
]
FULL = full_points(A)


def _release():
    return read(ROOT / "release" / A / f"{A}.ipynb")


def _source():
    return read(ROOT / "source" / A / f"{A}.ipynb")


def _solution_with(cell: str, at: int = 1):
    nb = with_solutions(_release(), _source())
    nb.cells.insert(at, nbformat.v4.new_code_cell(cell))
    return nb


def _tree_hash(*folders: Path) -> str:
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(str(path).encode() + path.read_bytes())
    return digest.hexdigest()


# the worker is the student's process: a cell can replace its functions or write to its pipe
HUGE_ERRORS = "import dlcourse.worker as w\nw.describe = lambda exc: 'A' * 90_000"
ESCAPES = (
    "import dlcourse.worker as w\n"
    "w.describe = lambda exc: '\\x1b[2J\\x1b[Hgrading finished: 16/16 <script>document.title=1</script>'"
)
BAD_EVENT = """
import gc, dlcourse.worker as w, dlcourse.protocol as p
worker = next(o for o in gc.get_objects() if isinstance(o, w.Worker))
p.write_frame(worker.outbox, {"event": "cell", "index": "one", "id": 5, "status": None, "seconds": "slow"})
"""
NOISE = "import os, sys\nos.write(2, b'\\xff\\xfe\\x1b[2J not utf-8')\nsys.stdout.buffer.write(b'\\xc3\\x28')"


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    folder = tmp_path_factory.mktemp("containment")
    submitted = folder / "submitted"
    submit(folder, "a_honest", A, _source())
    # links to the instructor's files, anywhere on the path
    (submitted / "b_linked_folder").mkdir(parents=True)
    (submitted / "b_linked_folder" / A).symlink_to(ROOT / "source" / A)
    (submitted / "c_linked_file" / A).mkdir(parents=True)
    (submitted / "c_linked_file" / A / f"{A}.ipynb").symlink_to(ROOT / "source" / A / f"{A}.ipynb")
    (submitted / "d_fifo" / A).mkdir(parents=True)
    os.mkfifo(submitted / "d_fifo" / A / f"{A}.ipynb")
    (submitted / "e_hard_link" / A).mkdir(parents=True)
    try:
        os.link(ROOT / "source" / A / f"{A}.ipynb", submitted / "e_hard_link" / A / f"{A}.ipynb")
    except OSError:  # another file system: the link count check is then shown by a local copy
        copy = folder / "instructor.ipynb"
        copy.write_bytes((ROOT / "source" / A / f"{A}.ipynb").read_bytes())
        os.link(copy, submitted / "e_hard_link" / A / f"{A}.ipynb")
    # ids: a trailing newline, a control character
    submit(folder, "f_newline\n", A, _source())
    submit(folder, "g_bell\x07", A, _source())
    submit(
        folder,
        "h_huge_errors",
        A,
        with_solutions(
            _release(),
            _source(),
            {
                "binary_cross_entropy": HUGE_ERRORS
                + "\n\ndef binary_cross_entropy(yhat, y):\n    raise ValueError('no')"
            },
        ),
    )
    submit(
        folder,
        "i_escapes",
        A,
        with_solutions(
            _release(),
            _source(),
            {
                "binary_cross_entropy": ESCAPES
                + "\n\ndef binary_cross_entropy(yhat, y):\n    raise ValueError('no')"
            },
        ),
    )
    submit(folder, "j_bad_event", A, _solution_with(BAD_EVENT))
    submit(folder, "k_noise", A, _solution_with(NOISE))
    submit(
        folder,
        "l_big_number",
        A,
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": ' + "9" * 5000 + "}",
    )
    # JSON that parses but is no notebook of ours: deep nesting, fields of the wrong types
    submit(folder, "n_deep", A, '{"cells": ' + "[" * 100_000 + "]" * 100_000 + ', "nbformat": 4}')
    submit(
        folder,
        "o_wrong_types",
        A,
        json.dumps(
            {
                "nbformat": 4,
                "metadata": [],
                "cells": [{"cell_type": "code", "source": {"a": 1}, "metadata": "x"}],
            }
        ),
    )
    submit(
        folder,
        "p_wrong_metadata",
        A,
        json.dumps(
            {
                "nbformat": 4,
                "cells": [
                    {
                        "cell_type": "code",
                        "source": ["x = 1"],
                        "metadata": {"nbgrader": ["grade_id"]},
                        "id": 7,
                    }
                ],
            }
        ),
    )
    script = _source()
    script.cells[1].id = "<script>document.title='pwned'</script>"
    submit(folder, "m_script_id", A, script)
    submit(folder, "z_honest", A, _source())
    before = _tree_hash(ROOT / "source", ROOT / "autograder", ROOT / "release")
    out = folder / "grading"
    cmd = [
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
        "--workers",
        "2",
        *LIMITS,
    ]
    done = subprocess.run(cmd, capture_output=True, timeout=1800)
    results = {
        r["student"]: r for r in grade_json(A, folder, out, *LIMITS)
    }  # everyone already graded
    after = _tree_hash(ROOT / "source", ROOT / "autograder", ROOT / "release")
    return done, results, out, before == after


@pytest.mark.slow
def test_the_class_run_finishes_and_honest_students_keep_full_marks(hostile_class):
    done, results, _, untouched = hostile_class
    assert done.returncode == 0, done.stderr[-3000:]
    assert results["a_honest"]["score"] == results["z_honest"]["score"] == FULL
    assert untouched, "grading changed files of the course"


@pytest.mark.slow
@pytest.mark.parametrize(
    "student,reason",
    [
        ("b_linked_folder", "link"),
        ("c_linked_file", "link"),
        ("d_fifo", "not a regular file"),
        ("e_hard_link", "link"),
    ],
)
def test_only_the_students_own_regular_file_is_graded(hostile_class, student, reason):
    record = hostile_class[1][student]
    assert record["score"] == 0
    assert all(reason in t["message"] for t in record["tests"])


@pytest.mark.slow
def test_student_ids_are_matched_whole(hostile_class):
    results = hostile_class[1]
    assert not any(s.startswith(("f_newline", "g_bell")) for s in results)
    assert {"a_honest", "z_honest", "m_script_id"} <= set(results)


@pytest.mark.slow
def test_records_and_feedback_stay_small(hostile_class):
    _, results, out, _ = hostile_class
    record = out / "results" / "h_huge_errors" / f"{A}.json"
    page = out / "feedback" / "h_huge_errors" / A / "feedback.html"
    assert record.stat().st_size < 1 << 20 and page.stat().st_size < 1 << 20
    assert any("more cut" in t["message"] for t in results["h_huge_errors"]["tests"])
    assert all(len(t["message"]) < 1100 for r in results.values() for t in r["tests"])
    # only binary_cross_entropy's tests
    assert results["h_huge_errors"]["score"] == FULL - cell_points(A, "test_binary_cross_entropy")


@pytest.mark.slow
def test_control_characters_never_reach_the_terminal_or_the_page(hostile_class):
    done, results, out, _ = hostile_class
    assert b"\x1b" not in done.stdout and b"\x1b" not in done.stderr
    assert any("\\x1b[2J" in t["message"] for t in results["i_escapes"]["tests"])
    for student in ("i_escapes", "m_script_id"):
        page = (out / "feedback" / student / A / "feedback.html").read_text()
        assert "<script>document.title" not in page and "\x1b" not in page


@pytest.mark.slow
def test_malformed_messages_and_noise_cost_only_their_submission(hostile_class):
    results, out = hostile_class[1], hostile_class[2]
    bad = json.loads((out / "results" / "j_bad_event" / f"{A}.json").read_text())
    assert bad["score"] == 0 and "garbage" in bad["error"]
    assert results["k_noise"]["score"] == FULL
    assert results["m_script_id"]["score"] == FULL
    assert all(
        "cannot read this notebook" in t["message"] for t in results["l_big_number"]["tests"]
    )
    assert all(results[s]["score"] == 0 for s in ("n_deep", "o_wrong_types", "p_wrong_metadata"))
    for student in results:
        saved = json.loads((out / "results" / student / f"{A}.json").read_text())
        assert saved["grader_errors"] == 0, student


# --- a bounded slot ---------------------------------------------------------------------

SLOW_ANSWERS = """
import functools, time

def _slow(fn):
    @functools.wraps(fn)
    def burn_then_call(*args, **kwargs):  # every answer uses 2.5 s of CPU time first
        end = time.process_time() + 2.5
        while time.process_time() < end:
            pass
        return fn(*args, **kwargs)
    return burn_then_call

for _name in ("binary_cross_entropy", "mse_loss", "loss_surface", "gradient", "gd_step", "train"):
    globals()[_name] = _slow(globals()[_name])
LogisticRegression.forward = _slow(LogisticRegression.forward)
LogisticStack.forward = _slow(LogisticStack.forward)
"""


@pytest.mark.slow
def test_a_submission_cannot_hold_its_slot_past_its_budget(tmp_path):
    submit(tmp_path, "a_honest", A, _source())
    slow = with_solutions(_release(), _source())
    slow.cells.append(nbformat.v4.new_code_cell(SLOW_ANSWERS))
    submit(tmp_path, "b_slow", A, slow)
    limits = [
        "--workers",
        "1",
        "--limit",
        "probe_seconds=3",
        "--limit",
        "submission_seconds=12",
        "--limit",
        "cell_seconds=5",
        "--limit",
        "notebook_seconds=10",
    ]
    results = {r["student"]: r for r in grade_json(A, tmp_path, tmp_path / "out", *limits)}
    assert results["a_honest"]["score"] == FULL
    slow = results["b_slow"]
    assert any("grading time for this submission ran out" in t["message"] for t in slow["tests"])
    saved = json.loads((tmp_path / "out" / "results" / "b_slow" / f"{A}.json").read_text())
    threads = saved["grader"]["threads"]  # limits are CPU seconds per thread share
    # the budget, plus the one probe allowance that may have started just before it ran out
    assert saved["cpu_seconds"] <= (12 + 3) * threads * 1.2 + 2
