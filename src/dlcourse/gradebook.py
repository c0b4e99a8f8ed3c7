"""Grades into nbgrader's gradebook, one submission per transaction.

Graded work goes to a working copy of the course's ``gradebook.db`` (by default
``grading/gradebook.db``), so the committed gradebook keeps only the course's structure.
A submission's rows (student, submission, one grade per grade cell) are written in one
SQLAlchemy transaction with nbgrader's own models: all of its grades land, or none.
"""

from __future__ import annotations

import datetime
import shutil
import sqlite3
from contextlib import contextmanager
from pathlib import Path


def working_copy(course_gradebook: Path, path: Path) -> Path:
    """Create ``path`` from the course gradebook, or add assignments the course has gained."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        shutil.copy(course_gradebook, tmp)
        tmp.replace(path)
    elif not set(gradebook_summary(course_gradebook)) <= set(gradebook_summary(path)):
        _merge_structure(course_gradebook, path)
    return path


def gradebook_summary(db: Path) -> list[tuple]:
    """What a course gradebook says, without nbgrader's random ids: assignments, cells, points."""
    if not db.is_file():
        return []
    nb = "JOIN notebook n ON b.notebook_id = n.id JOIN assignment a ON n.assignment_id = a.id"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = [("grade",) + r for r in conn.execute(
            f"SELECT a.name, n.name, b.name, g.max_score, g.cell_type FROM grade_cells g "
            f"JOIN base_cell b ON g.id = b.id {nb}")]
        rows += [("solution",) + r for r in conn.execute(
            f"SELECT a.name, n.name, b.name FROM solution_cells s JOIN base_cell b ON s.id = b.id {nb}")]
        rows += [("source",) + r for r in conn.execute(
            f"SELECT a.name, n.name, b.name, b.cell_type, b.locked, b.checksum FROM source_cell b {nb}")]
    return sorted(rows)


def _merge_structure(course_gradebook: Path, path: Path) -> None:
    """Copy assignments (and their notebooks and cells) the working copy lacks."""
    with open_gradebook(course_gradebook) as src, open_gradebook(path) as dst:
        have = {a.name for a in dst.assignments}
        for assignment in src.assignments:
            if assignment.name in have:
                continue
            dst.add_assignment(assignment.name, duedate=assignment.duedate)
            for notebook in assignment.notebooks:
                dst.add_notebook(notebook.name, assignment.name)
                for cell in notebook.grade_cells:
                    dst.add_grade_cell(cell.name, notebook.name, assignment.name,
                                       max_score=cell.max_score, cell_type=cell.cell_type)
                for cell in notebook.solution_cells:
                    dst.add_solution_cell(cell.name, notebook.name, assignment.name)
                for cell in notebook.source_cells:
                    dst.add_source_cell(cell.name, notebook.name, assignment.name, cell_type=cell.cell_type,
                                        locked=cell.locked, source=cell.source, checksum=cell.checksum)


@contextmanager
def open_gradebook(path: Path):
    from nbgrader.api import Gradebook

    gb = Gradebook(f"sqlite:///{Path(path).resolve()}", course_id="dlcourse")
    try:
        yield gb
    finally:
        gb.close()


def max_scores(path: Path, assignment: str) -> dict[str, float]:
    """``{grade cell name: max score}`` for one assignment's notebook."""
    with open_gradebook(path) as gb:
        return {c.name: c.max_score for nb in gb.find_assignment(assignment).notebooks for c in nb.grade_cells}


def is_graded(path: Path, assignment: str, student: str) -> bool:
    """Whether the submission's transaction has committed (plain SQL: no ORM start-up cost)."""
    with sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT 1 FROM submitted_assignment s JOIN assignment a ON s.assignment_id = a.id "
            "WHERE a.name = ? AND s.student_id = ?", (assignment, student)).fetchone() is not None


def record(path: Path, assignment: str, student: str, scores: dict[str, float]) -> None:
    """Write a submission's auto scores (``{grade cell: score}``) in one transaction."""
    from nbgrader.api import (Comment, Grade, MissingEntry, Student, SubmittedAssignment,
                              SubmittedNotebook)

    with open_gradebook(path) as gb:
        db = gb.db
        try:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                try:
                    who = gb.find_student(student)
                except MissingEntry:
                    who = Student(id=student)
                    db.add(who)
                with db.no_autoflush:
                    submission = SubmittedAssignment(assignment=gb.find_assignment(assignment), student=who)
                    for notebook in submission.assignment.notebooks:
                        sub_nb = SubmittedNotebook(notebook=notebook, assignment=submission)
                        for cell in notebook.grade_cells:
                            Grade(cell_id=cell.id, notebook=sub_nb)
                        for cell in notebook.solution_cells:
                            Comment(cell_id=cell.id, notebook=sub_nb)
                    db.add(submission)
            submission.timestamp = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
            db.flush()
            for sub_nb in submission.notebooks:
                for grade in sub_nb.grades:
                    grade.auto_score = float(scores.get(grade.cell.name, 0.0))
                    grade.needs_manual_grade = False
            db.commit()
        except BaseException:
            db.rollback()
            raise
