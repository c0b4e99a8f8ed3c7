"""Canvas's gradebook import CSV, from the gradebook the graders wrote and a roster.

Canvas reads (and exports) ``Student, ID, SIS User ID, SIS Login ID, Section``, then one
column per assignment; the first row under the header is ``Points Possible``. The roster
maps each dlcourse/nbgrader student id to those Canvas columns: a CSV with the header
``student,name,id,sis_user_id,sis_login_id,section`` (a Canvas gradebook export, with a
``student`` column added, works too).
"""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
ROSTER_COLUMNS = {"student": "student", "name": "Student", "student name": "Student", "id": "ID",
                  "canvas id": "ID", "sis_user_id": "SIS User ID", "sis user id": "SIS User ID",
                  "sis_login_id": "SIS Login ID", "sis login id": "SIS Login ID",
                  "section": "Section"}


def read_roster(path: Path) -> list[dict]:
    """``[{"student", "Student", "ID", "SIS User ID", "SIS Login ID", "Section"}]``."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        entry = {ROSTER_COLUMNS[k.strip().lower()]: (v or "").strip()
                 for k, v in row.items() if k and k.strip().lower() in ROSTER_COLUMNS}
        if not entry.get("student"):
            raise ValueError(f"{path}: every roster row needs a `student` (the dlcourse id)")
        out.append({c: entry.get(c, "") for c in ["student", *HEADER]})
    return out


def scores(gradebook: Path, assignment: str) -> tuple[float, dict[str, float]]:
    """The assignment's points possible, and each graded student's total (sum of grade cells)."""
    with sqlite3.connect(f"file:{Path(gradebook).resolve()}?mode=ro", uri=True) as conn:
        cells = ("FROM grade_cells g JOIN base_cell b ON g.id = b.id JOIN notebook n "
                 "ON b.notebook_id = n.id JOIN assignment a ON n.assignment_id = a.id WHERE a.name = ?")
        (possible,) = conn.execute(f"SELECT COALESCE(SUM(g.max_score), 0) {cells}", (assignment,)).fetchone()
        totals = dict(conn.execute(
            "SELECT s.student_id, SUM(COALESCE(gr.manual_score, gr.auto_score, 0) "
            "+ COALESCE(gr.extra_credit, 0)) FROM grade gr "
            "JOIN submitted_notebook sn ON gr.notebook_id = sn.id "
            "JOIN submitted_assignment s ON sn.assignment_id = s.id "
            "JOIN assignment a ON s.assignment_id = a.id WHERE a.name = ? GROUP BY s.student_id",
            (assignment,)))
    if not possible:
        raise ValueError(f"{gradebook} has no assignment {assignment!r}")
    return float(possible), {k: float(v) for k, v in totals.items()}


def _number(value: float) -> str:
    return f"{value:g}"


def export(gradebook: Path, assignments: list[str], roster: Path, *, columns: list[str] | None = None,
           missing: str = "") -> tuple[str, list[str]]:
    """The CSV text, and the graded students the roster does not list (left out, for a warning)."""
    people = read_roster(roster)
    names = columns or assignments
    if len(names) != len(assignments):
        raise ValueError("give one column name per assignment")
    table = [scores(gradebook, a) for a in assignments]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER + list(names))
    writer.writerow(["Points Possible", "", "", "", ""] + [_number(p) for p, _ in table])
    for person in people:
        writer.writerow([person[c] for c in HEADER]
                        + [_number(got[person["student"]]) if person["student"] in got else missing
                           for _, got in table])
    listed = {p["student"] for p in people}
    unlisted = sorted({s for _, got in table for s in got} - listed)
    return out.getvalue(), unlisted
