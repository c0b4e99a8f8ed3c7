"""The tools instructors and students already use, run for real on Module 1: otter-grader
(`otter run` on our export), Gradescope's results format, nbgrader's validate and API, and the
student self-check. Each agrees with `dlcourse grade`."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from conftest import ROOT, dlcourse, full_points, grade_json, submit
from dlcourse import demo
from dlcourse.course import Course
from dlcourse.notebook import read

pytestmark = pytest.mark.slow  # every test here grades notebooks, or runs otter or nbgrader on them

A = "01_logistic_regression"
NOTEBOOKS = {
    "solution": ROOT / "solutions" / A / f"{A}.ipynb",
    "release": ROOT / "release" / A / f"{A}.ipynb",
}


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """The solution, the untouched release and a partial submission, graded by `dlcourse grade`."""
    folder = tmp_path_factory.mktemp("three")
    for student, path in NOTEBOOKS.items():
        submit(folder, student, A, read(path))
    submit(folder, "partial", A, demo.partial(Course(ROOT), A))
    results = {r["student"]: r for r in grade_json(A, folder, folder / "grading", "--workers", "2")}
    assert results["solution"]["score"] == full_points(A) and results["release"]["score"] == 0
    assert 0 < results["partial"]["score"] < full_points(A)  # half of the exercises solved
    return folder, results


# --- otter-grader ---------------------------------------------------------------------


def test_otter_run_gives_the_same_totals(three, tmp_path):
    folder, results = three
    zip_path = (
        dlcourse("export", "otter", A, "--out", str(tmp_path)).stdout.strip().splitlines()[-1]
    )
    for student in ("solution", "partial", "release"):
        work = tmp_path / student
        work.mkdir()
        notebook = folder / "submitted" / student / A / f"{A}.ipynb"
        subprocess.run(
            [sys.executable, "-m", "otter", "run", "-a", zip_path, "-o", str(work), str(notebook)],
            check=True,
            capture_output=True,
            cwd=work,
        )
        otter = json.loads((work / "results.json").read_text())
        total = sum(t.get("score") or 0 for t in otter["tests"])
        assert total == results[student]["score"], student


# --- Gradescope -----------------------------------------------------------------------

GRADESCOPE_SCHEMA = {  # Gradescope autograder results.json, as documented by Gradescope
    "type": "object",
    "required": ["tests"],
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "extra_data": {"type": "object"},
        "leaderboard": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "value"],
                "properties": {
                    "name": {"type": "string"},
                    "value": {"type": ["number", "string"]},
                    "order": {"enum": ["asc", "desc"]},
                },
                "additionalProperties": False,
            },
        },
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["score", "max_score"],
                "properties": {
                    "score": {"type": "number"},
                    "max_score": {"type": "number"},
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string"},
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": {
                        "enum": ["hidden", "after_due_date", "after_published", "visible"]
                    },
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


def test_gradescope_results_json(three, tmp_path):
    folder, results = three
    notebook = folder / "submitted" / "partial" / A / f"{A}.ipynb"
    done = dlcourse("grade", A, str(notebook), "--out", str(tmp_path), "--format", "gradescope")
    report = json.loads(done.stdout)
    jsonschema.validate(report, GRADESCOPE_SCHEMA)
    assert (
        report["score"] == results["partial"]["score"] == sum(t["score"] for t in report["tests"])
    )
    assert sum(t["max_score"] for t in report["tests"]) == full_points(A)


# --- nbgrader ---------------------------------------------------------------------------


def _validate(path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", str(path)], capture_output=True, text=True
    )
    return done.stdout + done.stderr


def test_nbgrader_validate_fails_the_release_and_passes_the_solution():
    assert "VALIDATION FAILED" in _validate(NOTEBOOKS["release"])
    assert "Success! Your notebook passes all the tests." in _validate(NOTEBOOKS["solution"])


def test_nbgrader_api_lists_graded_submissions(three):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    folder, results = three
    out = folder / "grading"
    coursedir = CourseDirectory(root=str(out), db_url=f"sqlite:///{out / 'gradebook.db'}")
    api = NbGraderAPI(coursedir=coursedir)
    listed = {s["student"]: s for s in api.get_submissions(A)}
    assert set(listed) == set(results)
    for student, result in results.items():
        assert listed[student]["score"] == result["score"]
        assert listed[student]["max_score"] == full_points(A)
        assert listed[student]["autograded"], "formgrader needs the autograded notebook"


# --- the student self-check -------------------------------------------------------------


def test_check_reports_each_exercise_without_hidden_tests(three):
    folder, _ = three
    done = dlcourse("check", str(folder / "submitted" / "partial" / A / f"{A}.ipynb"), check=False)
    assert done.returncode == 1
    lines = {
        " ".join(line.split()[1:3]): line
        for line in done.stdout.splitlines()
        if line.strip()[:1] in "✓✗·"
    }
    assert "(2 points): done" in lines["Exercise 1"] and lines["Exercise 1"].strip().startswith("✓")
    assert any(line.endswith("not started") for line in lines.values())
    assert f"of {full_points(A):g}" in done.stdout and "Points within reach" in done.stdout
    hidden = [
        n
        for n in (ROOT / "autograder" / A / "test_logistic_regression.py").read_text().split()
        if n.startswith("test_") and n.endswith("(nb,")
    ]
    assert hidden and not any(name[:-4] in done.stdout for name in hidden)


def test_check_lists_missing_names_and_passes_a_solution(tmp_path):
    nb = read(NOTEBOOKS["solution"])
    for cell in nb.cells:
        cell.source = cell.source.replace("def gd_step(", "def gradient_step(")
    broken = tmp_path / f"{A}.ipynb"
    import nbformat

    nbformat.write(nb, str(broken))
    done = dlcourse("check", str(broken), check=False)
    assert "missing names" in done.stdout and "gd_step" in done.stdout
    assert dlcourse("check", str(NOTEBOOKS["solution"])).returncode == 0
