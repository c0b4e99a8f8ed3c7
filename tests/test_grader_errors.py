"""A grader's own bug is ours, never the student's (issue #15), and a grade can be replayed.

A copy of the course whose Module 1 graders have a misspelt probe, a wrong keyword and a
crash: the student sees "a problem on our side", the instructor gets the tracebacks in
``<out>/logs/<student>/<assignment>.log`` and a count in the class table. Seeds are derived
from one base seed, recorded per test, and ``--replay`` reruns with the recorded ones.
"""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from conftest import ROOT, dlcourse, full_points, grade_json, hidden_tests

A = "01_logistic_regression"
SOLUTION = ROOT / "solutions" / A / f"{A}.ipynb"


@pytest.fixture(scope="module")
def broken_course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    for name in ("source", "release", "solutions"):
        (course / name).symlink_to(ROOT / name)
    for name in ("gradebook.db", "nbgrader_config.py"):
        shutil.copy(ROOT / name, course / name)
    (course / "autograder").mkdir()
    shutil.copy(ROOT / "autograder" / "pytest.ini", course / "autograder")
    shutil.copytree(ROOT / "autograder" / A, course / "autograder" / A)
    graders = course / "autograder" / A / "test_logistic_regression.py"
    text = graders.read_text()
    text = text.replace(
        'nb.call("mse_loss", yhat=yhat, y=y)', 'nb.call("mse_los", yhat=yhat, y=y)', 1
    )
    text = text.replace(
        'nb.call("loss_surface", loss=loss,', 'nb.call("loss_surface", los=loss,', 1
    )
    text = text.replace(
        "def test_stack_forward(nb, seed):", "def test_stack_forward(nb, seed):\n    {}['oops']", 1
    )
    graders.write_text(text)
    return course


def _grade(course, out, *extra):
    import subprocess

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dlcourse",
            "--course",
            str(course),
            "grade",
            A,
            str(SOLUTION),
            "--student",
            "alice",
            "--out",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done, json.loads((out / "results" / "alice" / f"{A}.json").read_text())


@pytest.mark.slow
def test_grader_bugs_are_reported_as_ours_and_logged(broken_course, tmp_path):
    done, record = _grade(broken_course, tmp_path)
    ours = {t["name"] for t in record["tests"] if t["grader_error"]}
    assert ours == {"test_mse_loss", "test_loss_surface_values", "test_stack_forward"}
    for test in record["tests"]:
        if test["name"] in ours:
            assert (
                "on our side" in test["message"] and "your instructor was told" in test["message"]
            )
    broken = sum(hidden_tests(A)[name]["max_points"] for name in ours)
    assert record["score"] == full_points(A) - broken  # the solution keeps everything else
    assert record["grader_errors"] == 3 and "grader error" in done.stdout
    log = (tmp_path / "logs" / "alice" / f"{A}.log").read_text()
    assert "mse_los" in log and "'los'" in log and "KeyError" in log


@pytest.mark.slow
def test_seeds_are_recorded_and_replayed(tmp_path):
    first = grade_json(A, SOLUTION, tmp_path / "a", "--student", "alice", "--seed", "1234")
    record = json.loads((tmp_path / "a" / "results" / "alice" / f"{A}.json").read_text())
    assert record["seed"] == 1234 and all(type(t["seed"]) is int for t in record["tests"])
    grade_json(A, SOLUTION, tmp_path / "b", "--student", "alice", "--seed", "1234")
    again = json.loads((tmp_path / "b" / "results" / "alice" / f"{A}.json").read_text())
    assert [t["seed"] for t in again["tests"]] == [t["seed"] for t in record["tests"]]
    saved = tmp_path / "a" / "results" / "alice" / f"{A}.json"
    dlcourse(
        "grade",
        A,
        str(SOLUTION),
        "--student",
        "alice",
        "--out",
        str(tmp_path / "c"),
        "--replay",
        str(saved),
    )
    replayed = json.loads((tmp_path / "c" / "results" / "alice" / f"{A}.json").read_text())
    assert replayed["seeds"] == record["seeds"]
    assert [t["seed"] for t in replayed["tests"]] == [t["seed"] for t in record["tests"]]
    assert first["score"] == replayed["score"] == full_points(A)
