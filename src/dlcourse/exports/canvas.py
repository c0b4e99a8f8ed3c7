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
    """The assignment's points possible, and each graded student's total."""
    from dlcourse.scores import totals

    table = totals(gradebook, assignment)
    if not table["possible"]:
        raise ValueError(f"{gradebook} has no grade cells for {assignment!r}")
    return table["possible"], table["scores"]


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
