"""An assignment's totals as the graders wrote them to the gradebook (read-only, plain SQL)."""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path

CELLS = ("FROM grade_cells g JOIN base_cell b ON g.id = b.id JOIN notebook n ON b.notebook_id = n.id "
         "JOIN assignment a ON n.assignment_id = a.id WHERE a.name = ?")
GRADES = ("FROM grade gr JOIN submitted_notebook sn ON gr.notebook_id = sn.id "
          "JOIN submitted_assignment s ON sn.assignment_id = s.id "
          "JOIN assignment a ON s.assignment_id = a.id WHERE a.name = ?")


def _time(value) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(str(value)) if value else None


def totals(gradebook: Path, assignment: str) -> dict:
    """``{"possible", "due", "scores": {student: total}, "timestamps": {student: datetime}}``."""
    with sqlite3.connect(f"file:{Path(gradebook).resolve()}?mode=ro", uri=True) as conn:
        (possible,) = conn.execute(f"SELECT COALESCE(SUM(g.max_score), 0) {CELLS}", (assignment,)).fetchone()
        due = conn.execute("SELECT duedate FROM assignment WHERE name = ?", (assignment,)).fetchone()
        scores = dict(conn.execute(
            "SELECT s.student_id, SUM(COALESCE(gr.manual_score, gr.auto_score, 0) "
            f"+ COALESCE(gr.extra_credit, 0)) {GRADES} GROUP BY s.student_id", (assignment,)))
        stamps = dict(conn.execute(
            "SELECT s.student_id, s.timestamp FROM submitted_assignment s JOIN assignment a "
            "ON s.assignment_id = a.id WHERE a.name = ?", (assignment,)))
    if due is None:
        raise ValueError(f"{gradebook} has no assignment {assignment!r}")
    return {"possible": float(possible), "due": _time(due[0]),
            "scores": {k: float(v) for k, v in scores.items()},
            "timestamps": {k: _time(v) for k, v in stamps.items()}}
