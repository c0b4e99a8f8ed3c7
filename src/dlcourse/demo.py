"""A demo class for one assignment: the instructor's solution, the untouched release, and a
student who solved only the first half of the exercises (in nbgrader's submitted/ layout)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from dlcourse.course import Course
from dlcourse.notebook import nbgrader_meta, read


def partial(course: Course, assignment: str):
    """The release notebook with the solution cells of the first half of the exercises filled in."""
    released = read(course.release_notebook(assignment))
    solved = {
        nbgrader_meta(c).get("grade_id"): c.source
        for c in read(course.source_notebook(assignment)).cells
        if nbgrader_meta(c).get("solution")
    }
    ids = [nbgrader_meta(c)["grade_id"] for c in released.cells if nbgrader_meta(c).get("solution")]
    for cell in released.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in ids[: len(ids) // 2]:
            cell.source = solved[grade_id]
    return released


def build_class(course: Course, assignment: str, folder: Path) -> Path:
    """Write ``folder/submitted/<student>/<assignment>/<notebook>`` for the three demo students."""
    submitted = Path(folder) / "submitted"
    name = course.notebook_name(assignment)
    students = {
        "instructor_solution": read(course.source_notebook(assignment)),
        "untouched_release": read(course.release_notebook(assignment)),
        "partial_student": partial(course, assignment),
    }
    for student, nb in students.items():
        target = submitted / student / assignment
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        nbformat.write(nb, str(target / name))
    return submitted
