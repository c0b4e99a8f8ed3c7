"""The grading engine on Module 1: the wire, tampering, bad input, results, gradebook, feedback."""

import csv
import io
import json
import subprocess
import sys

import nbformat
import pytest
import torch

from conftest import (
    ROOT,
    cell_points,
    full_points,
    grade_json,
    hidden_tests,
    submit,
    with_solutions,
)
from dlcourse import gradebook, protocol
from dlcourse.notebook import read

A = "01_logistic_regression"
FAST = ["--limit", "cell_seconds=3", "--limit", "notebook_seconds=30", "--limit", "probe_seconds=5"]


# --- the wire ------------------------------------------------------------------------


def test_plain_data_round_trips():
    value = {
        "out": torch.randn(3, 2),
        "n": 3,
        "x": 0.5,
        "ok": True,
        "s": "hi",
        "none": None,
        "items": [torch.zeros(2), (1, 2.0)],
    }
    back = protocol.decode(protocol.encode(value))
    assert torch.equal(back["out"], value["out"]) and back["items"][1] == (1, 2.0)


class AlwaysEqual:
    def __eq__(self, other):
        return True


class Sneaky(torch.Tensor):
    pass


@pytest.mark.parametrize(
    "value",
    [
        AlwaysEqual(),
        {"x": AlwaysEqual()},
        torch.zeros(3).as_subclass(Sneaky),
        torch.nn.Parameter(torch.zeros(2)),
        torch.Size([2, 3]),
    ],
    ids=["object", "nested-object", "tensor-subclass", "parameter", "size"],
)
def test_only_plain_data_is_accepted(value):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(protocol.encode(value))


def test_frames_over_the_limit_are_refused():
    stream = io.BytesIO()
    protocol.write_frame(stream, torch.zeros(1000))
    stream.seek(0)
    with pytest.raises(protocol.ProtocolError, match="limit"):
        protocol.read_frame(stream, max_size=100)


# --- grading a class with tampering and broken submissions ----------------------------

TAMPER = """
import torch, builtins
torch.allclose = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
builtins.abs = lambda x: 0
"""


def _release():
    return read(ROOT / "release" / A / f"{A}.ipynb")


def _source():
    return read(ROOT / "source" / A / f"{A}.ipynb")


EXIT_WHEN_PROBED = """
import inspect, os, sys

def _probed():
    return any(frame.filename == "<probes>" for frame in inspect.stack())

def mse_loss(yhat, y):
    if _probed():
        os._exit(0)
    return ((yhat - y) ** 2).mean()

def loss_surface(loss_fn, weights, biases, x, y):
    if _probed():
        sys.exit(0)
    return torch.stack([torch.stack([loss_fn(torch.sigmoid(w * x + b), y) for b in biases]) for w in weights])
"""


@pytest.fixture(scope="module")
def broken_class(tmp_path_factory):
    """One class run: the solution next to tampering, broken and hostile submissions."""
    folder = tmp_path_factory.mktemp("class")
    submit(folder, "a_solution", A, _source())
    # fakes every comparison in its own process, inside a probed function too, with wrong code
    tamper = with_solutions(
        _release(),
        _source(),
        {
            "binary_cross_entropy": "def binary_cross_entropy(yhat, y):\n"
            + TAMPER.replace("\n", "\n    ")
            + "\n    return torch.tensor(0.0)",
            "logistic_regression": "class LogisticRegression(torch.nn.Module):\n"
            "    def __init__(self, d):\n        super().__init__()\n"
            "    def forward(self, x):\n        return torch.full((len(x), 1), 0.5)",
        },
    )
    tamper.cells.insert(
        1,
        nbformat.v4.new_code_cell(
            TAMPER + "\nprint('All tests passed!')\nprint('{\"score\": 16, \"max_score\": 16}')"
        ),
    )
    submit(folder, "b_tamper", A, tamper)
    submit(folder, "c_not_json", A, '{"cells": [')
    (folder / "submitted" / "d_missing_file" / A).mkdir(parents=True)
    renamed = with_solutions(_release(), _source())
    for cell in renamed.cells:
        cell.source = cell.source.replace("def binary_cross_entropy(", "def bce(")
    submit(folder, "e_renamed", A, renamed)
    raising = with_solutions(_release(), _source())
    raising.cells.insert(2, nbformat.v4.new_code_cell("raise RuntimeError('oops')"))
    submit(folder, "f_cell_raises", A, raising)
    looping = with_solutions(_release(), _source())
    looping.cells.insert(2, nbformat.v4.new_code_cell("while True:\n    pass"))
    submit(folder, "g_infinite_loop", A, looping)
    exiting = with_solutions(_release(), _source(), {"loss_surface": EXIT_WHEN_PROBED})
    submit(folder, "h_exits", A, exiting)
    exit_cell = with_solutions(_release(), _source())
    exit_cell.cells.insert(3, nbformat.v4.new_code_cell("import os\nos._exit(0)"))
    submit(folder, "j_exit_cell", A, exit_cell)
    submit(folder, "i_solution_again", A, _source())
    results = grade_json(A, folder, folder / "grading", "--workers", "2", *FAST)
    return {r["student"]: r for r in results}, folder / "grading"


def _failed(result):
    return {t["name"] for t in result["tests"] if not t["passed"]}


@pytest.mark.slow
def test_solutions_in_the_same_run_get_full_marks(broken_class):
    results, _ = broken_class
    for student in ("a_solution", "i_solution_again"):
        assert results[student]["score"] == results[student]["max_score"] == full_points(A)


@pytest.mark.slow
def test_monkeypatching_comparisons_fakes_nothing(broken_class):
    result = broken_class[0]["b_tamper"]
    assert {
        "test_is_linear_then_sigmoid",
        "test_bce_matches_bceloss",
        "test_bce_finite_at_exact_zero_and_one",
    } <= _failed(result)
    # only the honest exercises score: what fails is in the two tampered exercises
    tampered = ("test_logistic_regression", "test_binary_cross_entropy")
    assert {hidden_tests(A)[name]["cell"] for name in _failed(result)} <= set(tampered)
    assert result["score"] == full_points(A) - cell_points(A, *tampered)


@pytest.mark.slow
def test_unreadable_and_missing_notebooks_get_zero_with_a_reason(broken_class):
    results, _ = broken_class
    assert results["c_not_json"]["score"] == 0
    assert all("not valid JSON" in t["message"] for t in results["c_not_json"]["tests"])
    assert results["d_missing_file"]["score"] == 0
    assert all("no notebook" in t["message"] for t in results["d_missing_file"]["tests"])


@pytest.mark.slow
def test_a_renamed_function_fails_only_its_tests(broken_class):
    result = broken_class[0]["e_renamed"]
    assert _failed(result) == {"test_bce_matches_bceloss", "test_bce_finite_at_exact_zero_and_one"}
    assert all(
        "does not define `binary_cross_entropy`" in t["message"]
        for t in result["tests"]
        if not t["passed"]
    )


@pytest.mark.slow
def test_a_raising_cell_does_not_stop_the_notebook(broken_class):
    result = broken_class[0]["f_cell_raises"]
    assert result["score"] == full_points(A)


@pytest.mark.slow
def test_an_infinite_loop_is_cut_and_the_rest_still_graded(broken_class):
    results, out = broken_class
    assert results["g_infinite_loop"]["score"] == full_points(
        A
    )  # the loop cell is cut; the rest runs
    record = json.loads((out / "results" / "g_infinite_loop" / f"{A}.json").read_text())
    assert any(c["error"].startswith("time limit reached") for c in record["execution"])


@pytest.mark.slow
def test_exiting_in_a_probed_function_fails_only_that_test(broken_class):
    result = broken_class[0]["h_exits"]
    assert _failed(result) == {"test_mse_loss", "test_loss_surface_values"}
    assert result["score"] == full_points(A) - cell_points(A, "test_loss_surface")


@pytest.mark.slow
def test_a_cell_that_exits_is_skipped(broken_class):
    results, out = broken_class
    assert results["j_exit_cell"]["score"] == full_points(A)
    record = json.loads((out / "results" / "j_exit_cell" / f"{A}.json").read_text())
    assert any("ended the process" in (c["error"] or "") for c in record["execution"])


@pytest.mark.slow
def test_json_result_schema(broken_class):
    for result in broken_class[0].values():
        assert set(result) == {"assignment", "student", "score", "max_score", "tests"}
        assert result["assignment"] == A and isinstance(result["score"], float)
        for test in result["tests"]:
            assert set(test) == {"name", "cell", "points", "max_points", "passed", "message"}
            assert test["points"] == (test["max_points"] if test["passed"] else 0)
        assert result["score"] == sum(t["points"] for t in result["tests"])


@pytest.mark.slow
def test_gradebook_round_trip_through_nbgrader_export(broken_class, tmp_path):
    results, out = broken_class
    csv_path = tmp_path / "grades.csv"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "export",
            f"--CourseDirectory.root={ROOT}",
            f"--CourseDirectory.db_url=sqlite:///{out / 'gradebook.db'}",
            "--to",
            str(csv_path),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    rows = {
        row["student_id"]: row for row in csv.DictReader(csv_path.open()) if row["assignment"] == A
    }
    assert set(rows) == set(results)
    for student, result in results.items():
        assert float(rows[student]["score"]) == result["score"]
        assert float(rows[student]["max_score"]) == full_points(A)


@pytest.mark.slow
def test_feedback_reports_without_hidden_code(broken_class):
    results, out = broken_class
    grader = (ROOT / "autograder" / A / "test_logistic_regression.py").read_text()
    code_lines = [ln.strip() for ln in grader.splitlines() if "expect(" in ln or "nb.call(" in ln]
    for student in results:
        html = (out / "feedback" / student / A / "feedback.html").read_text()
        assert student in html and f"/ {full_points(A):g}" in html
        assert not [line for line in code_lines if line in html]


@pytest.mark.slow
def test_single_notebook_json(tmp_path):
    result = grade_json(A, ROOT / "release" / A / f"{A}.ipynb", tmp_path, "--student", "alice")
    assert result["student"] == "alice" and result["score"] == 0
    assert len(result["tests"]) == len(hidden_tests(A))


def test_a_failed_gradebook_write_leaves_nothing(tmp_path):
    db = gradebook.working_copy(ROOT / "gradebook.db", tmp_path / "gradebook.db")
    with pytest.raises(Exception):  # noqa: B017 (whichever error nbgrader raises: nothing written)
        gradebook.record(db, "no_such_assignment", "zoe", {"x": 1.0})
    with gradebook.open_gradebook(db) as gb:
        assert [s.id for s in gb.students] == []
