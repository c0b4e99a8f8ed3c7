"""Exports: Canvas's gradebook CSV (against a golden file), and Gradescope's results.json with
hidden-until-due visibility and Module 6's leaderboard, validated by the documented schema."""

from __future__ import annotations

import csv
import json

import jsonschema
import nbformat
import pytest

from conftest import ROOT, dlcourse, submit
from dlcourse import gradebook
from dlcourse.build import venv_on_path
from dlcourse.exports import gradescope
from test_integrations import GRADESCOPE_SCHEMA

GOLDEN = ROOT / "tests" / "golden" / "canvas_gradebook.csv"
A1, A2 = "01_logistic_regression", "02_softmax_regression"
ROSTER = """student,name,id,sis_user_id,sis_login_id,section
alice,"Liddell, Alice",1001,S1001,alice@uni.example,Section 1
bob,Bob Builder,1002,S1002,bob@uni.example,Section 2
dave,Dave Null,1004,S1004,dave@uni.example,Section 2
"""


def hand_built_gradebook(path, structure: dict, due: dict | None = None) -> None:
    """An nbgrader gradebook with the given ``{assignment: {grade cell: max score}}``."""
    venv_on_path()  # a new gradebook runs nbgrader's `alembic` migrations
    with gradebook.open_gradebook(path) as gb:
        for assignment, cells in structure.items():
            gb.add_assignment(assignment, duedate=(due or {}).get(assignment))
            gb.add_notebook(assignment, assignment)
            for cell, points in cells.items():
                gb.add_grade_cell(cell, assignment, assignment, max_score=points, cell_type="code")


@pytest.fixture
def class_gradebook(tmp_path):
    """A gradebook with known scores, written through nbgrader's own models."""
    db = tmp_path / "gradebook.db"
    hand_built_gradebook(db, {A1: {"ex1": 10, "ex2": 6}, A2: {"ex1": 19}})
    gradebook.record(db, A1, "alice", {"ex1": 10, "ex2": 6})  # full marks: 16
    gradebook.record(db, A1, "bob", {"ex1": 2, "ex2": 1.5})
    gradebook.record(db, A1, "carol", {"ex2": 2})  # not in the roster
    gradebook.record(db, A2, "alice", {"ex1": 1})
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    return db, roster


@pytest.mark.slow
def test_canvas_csv_matches_the_golden_file(class_gradebook, tmp_path):
    db, roster = class_gradebook
    out = tmp_path / "canvas.csv"
    done = dlcourse(
        "export",
        "canvas",
        A1,
        A2,
        "--roster",
        str(roster),
        "--gradebook",
        str(db),
        "--column",
        "Module 1 (501)",
        "--column",
        "Module 2 (502)",
        "--out",
        str(out),
    )
    assert "carol" in done.stderr  # graded but not on the roster: said, and left out
    assert out.read_text() == GOLDEN.read_text()


@pytest.mark.slow
def test_canvas_csv_has_canvas_columns_and_points_possible(class_gradebook):
    db, roster = class_gradebook
    text = dlcourse(
        "export", "canvas", A1, "--roster", str(roster), "--gradebook", str(db), "--missing", "0"
    ).stdout
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A1]
    assert rows[1][0] == "Points Possible" and float(rows[1][5]) == 16
    scores = {r[0]: r[5] for r in rows[2:]}
    assert scores == {"Liddell, Alice": "16", "Bob Builder": "3.5", "Dave Null": "0"}


def _record(**metrics) -> dict:
    tests = [
        {
            "name": "test_a",
            "cell": "c1",
            "points": 2.0,
            "max_points": 2.0,
            "passed": True,
            "message": "",
            "description": "checks a",
            "hint": "",
            "metrics": metrics,
        },
        {
            "name": "test_b",
            "cell": "c2",
            "points": 0.0,
            "max_points": 1.0,
            "passed": False,
            "message": "b differs \x1b[31m",
            "description": "checks b",
            "hint": "look at b",
        },
    ]
    return {"assignment": "x", "student": "s", "score": 2.0, "max_score": 3.0, "tests": tests}


def test_gradescope_hidden_until_due_keeps_the_score_visible():
    report = gradescope.results(_record(), hidden_until_due=True)
    jsonschema.validate(report, GRADESCOPE_SCHEMA)
    assert report["visibility"] == "visible" and report["score"] == 2.0
    assert {t["visibility"] for t in report["tests"]} == {"after_due_date"}
    failed = report["tests"][1]["output"]
    assert "checks b" in failed and "Hint: look at b" in failed and "\x1b" not in failed
    assert {t["visibility"] for t in gradescope.results(_record())["tests"]} == {"visible"}
    assert "leaderboard" not in report


def test_gradescope_leaderboard_from_a_recorded_accuracy():
    report = gradescope.results(_record(accuracy=0.98765))
    jsonschema.validate(report, GRADESCOPE_SCHEMA)
    assert report["leaderboard"] == [{"name": "Test accuracy (%)", "value": 98.77, "order": "desc"}]


@pytest.mark.slow
def test_module6_grading_puts_the_hidden_test_accuracy_on_the_leaderboard(tmp_path):
    """A quickly trained model (one epoch on 3,000 digits): its real accuracy on the hidden test
    split, measured by the judge, is the leaderboard entry, and it agrees with the message."""
    a = "06_mnist_cnn_project"
    nb = nbformat.read(str(ROOT / "solutions" / a / f"{a}.ipynb"), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith("EPOCHS = "):
            cell.source = (
                "torch.manual_seed(0)\nmnist_model = MNISTNet().to(device)\n"
                "history = train(mnist_model, (fit_images[:3000], fit_labels[:3000]), "
                "(val_images[:500], val_labels[:500]), epochs=1)\n"
            )
    notebook = submit(tmp_path, "quick", a, nb)
    done = dlcourse(
        "grade",
        a,
        str(notebook),
        "--out",
        str(tmp_path / "g"),
        "--format",
        "gradescope",
        "--hidden-until-due",
    )
    report = json.loads(done.stdout)
    jsonschema.validate(report, GRADESCOPE_SCHEMA)
    (entry,) = report["leaderboard"]
    assert 20 < entry["value"] < 99, entry  # trained a little: far above chance, below the goal
    message = next(t["output"] for t in report["tests"] if t["name"] == "test_accuracy_at_least_99")
    assert f"{entry['value']:.2f}%" in message
    assert {t["visibility"] for t in report["tests"]} == {"after_due_date"}
