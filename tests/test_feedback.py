"""Feedback that teaches: grouped by exercise, what each test checked, failures first with
hints, points, a grader footer; every student-controlled field escaped and made visible."""

from __future__ import annotations

import json

import nbformat
import pytest

from conftest import ROOT, dlcourse, submit
from dlcourse import demo, feedback, grade
from dlcourse.course import Course
from dlcourse.exercises import course_outline
from dlcourse.notebook import nbgrader_meta, read

A = "01_logistic_regression"
EVIL = (
    "<script>document.title='pwned';window.pwned=1</script><img src=x onerror=\"window.pwned=1\">"
    "\x1b[31mred\x1b[0m\u202eevil"
)


def evil_record() -> dict:
    """A result record with hostile text in every field a student can influence."""
    test = {
        "name": f"test_{EVIL}",
        "cell": EVIL,
        "points": 0.0,
        "max_points": 1.0,
        "passed": False,
        "message": EVIL + "x" * 100_000,
        "description": EVIL,
        "hint": EVIL,
    }
    ok = {
        **test,
        "name": "test_ok",
        "cell": "test_logistic_regression",
        "passed": True,
        "points": 1.0,
        "message": "",
        "description": "output has the right shape",
        "hint": "never shown",
    }
    return {
        "assignment": A,
        "student": EVIL,
        "score": 1.0,
        "max_score": 2.0,
        "tests": [test, ok],
        "error": EVIL,
        "execution": [{"index": 0, "id": EVIL, "status": "error", "error": EVIL, "seconds": 1.5}],
        "grader": {"host": EVIL, "isolation": "bwrap", "device": "cpu"},
        "limits": {"cell_seconds": 120, EVIL: EVIL},
        "grading_seconds": 12.25,
    }


def test_hostile_text_is_escaped_made_visible_and_bounded(course):
    html = feedback.render(evil_record(), course_outline(course, A))
    assert "<script" not in html and "<img" not in html and 'onerror="' not in html
    assert "&lt;script&gt;" in html and "\\x1b[31m" in html and "\\u202e" in html
    assert "\x1b" not in html and "\u202e" not in html
    assert len(html) < 60_000, "a 100 kB message is cut"
    assert "more cut)" in html


def test_footer_renders_what_is_there_and_tolerates_absence(course):
    html = feedback.render(evil_record(), course_outline(course, A))
    assert "Grading took 12.2 s" in html and "bwrap" in html and "cell_seconds 120" in html
    bare = {
        "assignment": A,
        "student": "s",
        "score": 0,
        "max_score": 1,
        "tests": [
            {
                "name": "test_x",
                "cell": "c",
                "points": 0,
                "max_points": 1,
                "passed": False,
                "message": "m",
            }
        ],
    }
    html = feedback.render(bare)  # no exercises, no grader, no limits, no execution
    assert "Checks of c" in html and "Graded on" not in html and "Limits:" not in html


def test_failures_first_with_hint_and_passes_with_what_they_checked(course):
    record = {
        "assignment": A,
        "student": "s",
        "score": 2.0,
        "max_score": 5.0,
        "tests": [
            {
                "name": "test_shape",
                "cell": "test_logistic_regression",
                "points": 2.0,
                "max_points": 2.0,
                "passed": True,
                "message": "",
                "description": "the output has shape (n, 1)",
                "hint": "h0",
            },
            {
                "name": "test_bce",
                "cell": "test_binary_cross_entropy",
                "points": 0.0,
                "max_points": 3.0,
                "passed": False,
                "message": "differs from nn.BCELoss",
                "description": "matches nn.BCELoss",
                "hint": "compare with nn.BCELoss on a few values; check the sign",
            },
        ],
    }
    html = feedback.render(record, course_outline(course, A))
    first = html.index("Fix this first")
    assert (
        html.index("Exercise 2 — The Bernoulli likelihood and binary cross-entropy", first) > first
    )
    assert "Hint: compare with nn.BCELoss on a few values; check the sign" in html
    assert "Exercise 1 — From a line to a probability: 2 / 2" in html
    assert "Exercise 2 — The Bernoulli likelihood and binary cross-entropy: 0 / 3" in html
    assert "the output has shape (n, 1)" in html and "h0" not in html  # hints only for failures
    assert '<th class="num">2 / 5</th>' in html


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A real class run: the partial demo student and one whose code raises hostile errors."""
    folder = tmp_path_factory.mktemp("feedback")
    course = Course(ROOT)
    submit(folder, "partial", A, demo.partial(course, A))
    nb = read(ROOT / "solutions" / A / f"{A}.ipynb")
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade_id") == "binary_cross_entropy":
            cell.source = f"def binary_cross_entropy(yhat, y):\n    raise ValueError({EVIL!r})\n"
    hostile_cell = nbformat.v4.new_code_cell(f"raise RuntimeError({EVIL!r})")
    hostile_cell.metadata["nbgrader"] = {"grade_id": EVIL}  # a cell id is the student's text too
    nb.cells.insert(2, hostile_cell)
    submit(folder, "hostile", A, nb)
    dlcourse("grade", A, str(folder), "--out", str(folder / "grading"))
    return folder / "grading"


@pytest.mark.slow
def test_graded_feedback_groups_by_exercise(graded):
    html = (graded / "feedback" / "partial" / A / "feedback.html").read_text()
    assert "Exercise 1 — From a line to a probability: 2 / 2" in html
    assert "Exercise 4 — Gradients with autograd: 0 / 2" in html
    assert html.index("Fix this first") < html.index("Exercise 4 — Gradients with autograd: 0 / 2")
    record = json.loads((graded / "results" / "partial" / f"{A}.json").read_text())
    assert all("description" in t and "hint" in t for t in record["tests"])


@pytest.mark.slow
def test_graded_hostile_messages_are_inert(graded):
    html = (graded / "feedback" / "hostile" / A / "feedback.html").read_text()
    assert "ValueError" in html and "&lt;script&gt;" in html and "\\x1b" in html
    assert "<script" not in html and "\x1b" not in html and "<img" not in html


@pytest.mark.slow
def test_check_output_makes_control_characters_visible(graded, tmp_path):
    notebook = graded.parent / "submitted" / "hostile" / A / f"{A}.ipynb"
    done = dlcourse("check", str(notebook), check=False)
    assert done.returncode == 1 and "Fix this first: Exercise 2" in done.stdout
    assert "\x1b" not in done.stdout and "\\x1b" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("assignment", Course(ROOT).assignments())
def test_every_hidden_test_has_a_description(assignment, course):
    """Each grader says, for students, what it checks (docstring or @grade(describe=...))."""
    missing = [t["name"] for t in grade.list_tests(course, assignment) if not t.get("description")]
    assert not missing, f"{assignment}: hidden tests without a description: {', '.join(missing)}"
