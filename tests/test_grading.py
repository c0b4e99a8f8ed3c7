"""Every assignment, graded through `dlcourse grade`: the solution gets full marks, the untouched
release gets 0 and grading completes, and the gradebook agrees with the results."""

import pytest

from conftest import ROOT, grade_json, submit
from dlcourse.course import Course
from dlcourse.gradebook import open_gradebook
from dlcourse.notebook import read

pytestmark = pytest.mark.slow  # every test here inspects one class run of all six modules

ASSIGNMENTS = Course(ROOT).assignments()


@pytest.fixture(scope="session")
def graded(tmp_path_factory, course):
    """Each assignment's class of two, graded once per test session: {assignment: {student: result}}."""
    out = {}
    for assignment in ASSIGNMENTS:
        folder = tmp_path_factory.mktemp(assignment)
        submit(folder, "solution", assignment, read(course.solution_notebook(assignment)))
        submit(folder, "release", assignment, read(course.release_notebook(assignment)))
        results = grade_json(assignment, folder, folder / "grading", "--workers", "2")
        out[assignment] = {"results": {r["student"]: r for r in results}, "out": folder / "grading"}
    return out


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_scores_full_marks(graded, assignment):
    result = graded[assignment]["results"]["solution"]
    failed = [(t["name"], t["message"]) for t in result["tests"] if not t["passed"]]
    assert not failed and result["score"] == result["max_score"] > 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_scores_zero(graded, assignment):
    result = graded[assignment]["results"]["release"]
    assert result["score"] == 0 and result["max_score"] > 0
    assert all(t["message"] for t in result["tests"]), "every failed test says why"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_gradebook_matches_results(graded, assignment):
    with open_gradebook(graded[assignment]["out"] / "gradebook.db") as gb:
        for student, result in graded[assignment]["results"].items():
            submission = gb.find_submission(assignment, student)
            assert submission.score == pytest.approx(result["score"])
            assert submission.max_score == pytest.approx(result["max_score"])
