"""Shared fixtures: the course checkout, and grading through the real `dlcourse grade` command."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, settings

from dlcourse.course import Course
from dlcourse.notebook import nbgrader_meta

ROOT = Path(__file__).resolve().parents[1]


@functools.lru_cache
def full_points(assignment: str) -> float:
    """An assignment's total points, from the course gradebook (no grader is run)."""
    from dlcourse import gradebook

    return sum(gradebook.max_scores(ROOT / "gradebook.db", assignment).values())


@functools.lru_cache
def hidden_tests(assignment: str) -> dict[str, dict]:
    """``{test name: {"cell", "max_points"}}`` of an assignment's hidden graders (collected once)."""
    from dlcourse.grade import list_tests

    return {t["name"]: t for t in list_tests(Course(ROOT), assignment)}


def grade_cells(assignment: str) -> int:
    """How many grade cells an assignment has (a submission's grade rows)."""
    from dlcourse import gradebook

    return len(gradebook.max_scores(ROOT / "gradebook.db", assignment))


def cell_points(assignment: str, *cells: str) -> float:
    """The points of an assignment's grade cells."""
    return sum(t["max_points"] for t in hidden_tests(assignment).values() if t["cell"] in cells)


# Property tests (tests/unit/): no per-example deadline (the machine may be busy), no example
# database in the checkout; a failure prints its falsifying example, which is enough to replay.
settings.register_profile(
    "course", deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("course")


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(ROOT)


def dlcourse(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the `dlcourse` command line as a user would."""
    done = subprocess.run(
        [sys.executable, "-m", "dlcourse", "--course", str(ROOT), *args],
        capture_output=True,
        text=True,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"dlcourse {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done


def grade_json(assignment: str, path: Path, out: Path, *extra: str):
    """`dlcourse grade --format json`: a dict for one notebook, a list for a folder."""
    done = dlcourse("grade", assignment, str(path), "--out", str(out), "--format", "json", *extra)
    return json.loads(done.stdout)


def submit(folder: Path, student: str, assignment: str, nb) -> Path:
    """Place a notebook in nbgrader's layout.

    The path is ``folder/submitted/<student>/<assignment>/<assignment>.ipynb``.
    """
    target = folder / "submitted" / student / assignment
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{assignment}.ipynb"
    if isinstance(nb, (str, bytes)):  # raw file content, e.g. a corrupted notebook
        path.write_bytes(nb.encode() if isinstance(nb, str) else nb)
    else:
        nbformat.write(nb, str(path))
    return path


def with_solutions(release_nb, source_nb, replace: dict[str, str] | None = None):
    """The release notebook with solution cells taken from the source, or replaced by `replace`."""
    solved = {
        nbgrader_meta(c).get("grade_id"): c.source
        for c in source_nb.cells
        if nbgrader_meta(c).get("solution")
    }
    for cell in release_nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in solved:
            cell.source = (replace or {}).get(grade_id, solved[grade_id])
    return release_nb
