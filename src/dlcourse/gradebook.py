"""Grades into nbgrader's gradebook, one submission per transaction.

Graded work goes to a working copy of the course's ``gradebook.db`` (by default
``grading/gradebook.db``), so the committed gradebook keeps only the course's structure.
A submission's rows (student, submission, one grade per grade cell) are written in one
SQLAlchemy transaction with nbgrader's own models: all of its grades land, or none.
"""

from __future__ import annotations

import datetime
import os
import random
import shutil
import sqlite3
import sys
import time
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
        rows = [
            ("grade",) + r
            for r in conn.execute(
                f"SELECT a.name, n.name, b.name, g.max_score, g.cell_type FROM grade_cells g "
                f"JOIN base_cell b ON g.id = b.id {nb}"
            )
        ]
        rows += [
            ("solution",) + r
            for r in conn.execute(
                f"SELECT a.name, n.name, b.name FROM solution_cells s "
                f"JOIN base_cell b ON s.id = b.id {nb}"
            )
        ]
        rows += [
            ("source",) + r
            for r in conn.execute(
                f"SELECT a.name, n.name, b.name, b.cell_type, b.locked, b.checksum "
                f"FROM source_cell b {nb}"
            )
        ]
    return sorted(rows)


def _merge_structure(course_gradebook: Path, path: str | Path) -> None:
    """Copy the assignments (with notebooks and cells) the target lacks, in one transaction."""
    from nbgrader.api import Assignment, GradeCell, Notebook, SolutionCell, SourceCell

    with open_gradebook(course_gradebook) as src:

        def work(dst):
            have = {a.name for a in dst.assignments}
            for assignment in src.assignments:
                if assignment.name in have:
                    continue
                new = Assignment(
                    name=assignment.name, duedate=assignment.duedate, course_id=dst.course_id
                )
                for notebook in assignment.notebooks:
                    nb = Notebook(name=notebook.name, assignment=new)
                    for cell in notebook.grade_cells:
                        GradeCell(
                            name=cell.name,
                            notebook=nb,
                            max_score=cell.max_score,
                            cell_type=cell.cell_type,
                        )
                    for cell in notebook.solution_cells:
                        SolutionCell(name=cell.name, notebook=nb)
                    for cell in notebook.source_cells:
                        SourceCell(
                            name=cell.name,
                            notebook=nb,
                            cell_type=cell.cell_type,
                            locked=cell.locked,
                            source=cell.source,
                            checksum=cell.checksum,
                        )
                dst.db.add(new)

        _with_retries(path, work)


def url_of(db: str | Path) -> str:
    """A SQLAlchemy URL for ``db``: a URL is kept, a file path becomes ``sqlite:///<path>``."""
    text = str(db)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


def sqlite_path(url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL (None for other databases)."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def working_gradebook(course_gradebook: Path, db: str | Path) -> str:
    """The gradebook grades go to, with the course's rows in it; returns its URL.

    A SQLite file is created as a copy of the committed ``gradebook.db``; any other database
    (PostgreSQL...) gets nbgrader's tables and the course's assignments, notebooks and cells
    copied in through nbgrader's models, the same rows as the copy.
    """
    url = url_of(db)
    path = sqlite_path(url)
    if path is not None:
        working_copy(course_gradebook, path)
        return url
    have = _with_retries(url, lambda gb: {a.name for a in gb.assignments})
    if not set(a for (kind, a, *_) in gradebook_summary(course_gradebook)) <= have:
        _merge_structure(course_gradebook, url)
    return url


@contextmanager
def open_gradebook(db: str | Path):
    """nbgrader's Gradebook on a path or URL; its connections are closed on the way out."""
    from nbgrader.api import Gradebook

    if shutil.which("alembic") is None:  # nbgrader runs `alembic heads` on a new database
        os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])
    gb = Gradebook(url_of(db), course_id="dlcourse")
    try:
        yield gb
    finally:
        gb.close()
        gb.engine.dispose()


RETRIES = 6


def _with_retries(db: str | Path, work):
    """Run ``work(gradebook)`` as one transaction, again if another writer got in the way.

    A unique-key collision (formgrader and ``dlcourse grade`` creating the same student at
    once) or a locked SQLite file rolls the whole transaction back and runs it again, so a
    submission is never half-written; anything else is raised.
    """
    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(RETRIES):
        with open_gradebook(db) as gb:
            try:
                result = work(gb)
                gb.db.commit()
                return result
            except (IntegrityError, OperationalError) as exc:
                gb.db.rollback()
                transient = isinstance(exc, IntegrityError) or "locked" in str(exc)
                if not transient or attempt == RETRIES - 1:
                    raise
            except BaseException:
                gb.db.rollback()
                raise
        time.sleep(0.05 * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")


def max_scores(path: str | Path, assignment: str) -> dict[str, float]:
    """``{grade cell name: max score}`` for one assignment's notebook."""
    with open_gradebook(path) as gb:
        notebooks = gb.find_assignment(assignment).notebooks
        return {c.name: c.max_score for nb in notebooks for c in nb.grade_cells}


GRADED_SQL = (
    "SELECT DISTINCT s.student_id FROM submitted_assignment s "
    "JOIN assignment a ON s.assignment_id = a.id "
    "JOIN submitted_notebook n ON n.assignment_id = s.id "
    "JOIN grade g ON g.notebook_id = n.id WHERE a.name = :a AND g.auto_score IS NOT NULL"
)


def graded_students(db: str | Path, assignment: str) -> set[str]:
    """Students whose submission's transaction has committed (plain SQL: no ORM start-up).

    A submission row alone (an extension granted before grading) does not count: grading
    writes every auto score in the same transaction.
    """
    url = url_of(db)
    path = sqlite_path(url)
    if path is not None:
        if not path.is_file():
            return set()
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return {r[0] for r in conn.execute(GRADED_SQL.replace(":a", "?"), (assignment,))}
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(text(GRADED_SQL), {"a": assignment})}
    finally:
        engine.dispose()


def is_graded(path: str | Path, assignment: str, student: str) -> bool:
    return student in graded_students(path, assignment)


def _submission(gb, assignment: str, student: str):
    """The student's submission row, created with its notebooks and empty grades if missing."""
    from nbgrader.api import (
        Comment,
        Grade,
        MissingEntry,
        Student,
        SubmittedAssignment,
        SubmittedNotebook,
    )

    db = gb.db
    try:
        return gb.find_submission(assignment, student)
    except MissingEntry:
        pass
    try:
        who = gb.find_student(student)
    except MissingEntry:
        who = Student(id=student)
        db.add(who)
        db.flush()  # a collision with another writer shows up here, and is retried
    with db.no_autoflush:
        submission = SubmittedAssignment(assignment=gb.find_assignment(assignment), student=who)
        for notebook in submission.assignment.notebooks:
            sub_nb = SubmittedNotebook(notebook=notebook, assignment=submission)
            for cell in notebook.grade_cells:
                Grade(cell_id=cell.id, notebook=sub_nb)
            for cell in notebook.solution_cells:
                Comment(cell_id=cell.id, notebook=sub_nb)
        db.add(submission)
    db.flush()
    return submission


def record(
    path: str | Path,
    assignment: str,
    student: str,
    scores: dict[str, float],
    timestamp: datetime.datetime | None = None,
    penalty: float = 0.0,
) -> None:
    """Write a submission's auto scores (``{grade cell: score}``) in one transaction.

    ``timestamp`` is when it was handed in (kept as is when None); ``penalty`` is the late
    penalty in points, stored where nbgrader's late-submission plugin puts it (on the
    submitted notebook), so ``nbgrader export`` shows raw score, penalty and score.
    """

    def work(gb):
        submission = _submission(gb, assignment, student)
        if timestamp is not None:
            submission.timestamp = timestamp
        elif submission.timestamp is None:
            submission.timestamp = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        for index, sub_nb in enumerate(submission.notebooks):
            sub_nb.late_submission_penalty = float(penalty) if index == 0 and penalty else None
            for grade in sub_nb.grades:
                grade.auto_score = float(scores.get(grade.cell.name, 0.0))
                grade.needs_manual_grade = False

    _with_retries(path, work)


def set_duedate(path: str | Path, assignment: str, due: datetime.datetime | None) -> None:
    """Put an assignment.toml due date into the gradebook (nbgrader's ``duedate``)."""

    def work(gb):
        row = gb.find_assignment(assignment)
        if due is not None and row.duedate != due:
            row.duedate = due

    _with_retries(path, work)


def due_for(path: str | Path, assignment: str, student: str) -> datetime.datetime | None:
    """The student's due date: the assignment's, plus their extension (nbgrader's rule)."""
    from nbgrader.api import MissingEntry

    def work(gb):
        due = gb.find_assignment(assignment).duedate
        try:
            extension = gb.find_submission(assignment, student).extension
        except MissingEntry:
            extension = None
        return due + extension if due is not None and extension else due

    return _with_retries(path, work)


def grant_extension(path: str | Path, assignment: str, student: str, hours: float) -> None:
    """An extension in the gradebook's ``extension`` field (0 removes it); nbgrader reads it.

    The submission row is created (empty grades) if the student has not been graded yet,
    which does not count as graded.
    """

    def work(gb):
        submission = _submission(gb, assignment, student)
        submission.extension = datetime.timedelta(hours=hours) if hours else None

    _with_retries(path, work)
