"""`dlcourse check`: a student's notebook run the way the grader runs it, with visible tests only.

Same worker, same sandbox, same time limits, top to bottom in a fresh process. It reports each
exercise (grade cell) as done, failing or not started, the interface names the notebook lacks,
and cells that are slow against the grading limit. It runs no hidden test and shows none.
"""

from __future__ import annotations

import ast
from pathlib import Path

from dlcourse.course import Course
from dlcourse.judge import Submission
from dlcourse.notebook import SubmissionError, nbgrader_meta, read

NAMES_PROBE = "def defined_names(nb):\n    return nb.names()\n"
STUB = "raise NotImplementedError()"


def guess_assignment(course: Course, notebook: Path) -> str:
    for assignment in course.assignments():
        if notebook.stem == assignment or assignment in notebook.resolve().parts:
            return assignment
    raise ValueError(f"cannot tell which assignment {notebook.name} is; pass --assignment")


def interface(nb) -> list[str]:
    """Top-level functions and classes the exercises define (their signatures are in the release)."""
    names = []
    for cell in nb.cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("solution"):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            names += [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    return names


def exercises(nb) -> list[dict]:
    """Each grade cell with the solution cells that precede it (since the previous grade cell)."""
    out, pending = [], []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            pending.append(meta["grade_id"])
        elif meta.get("grade"):
            out.append({"cell": meta["grade_id"], "points": meta.get("points", 0), "solutions": pending})
            pending = []
    return out


def check(course: Course, notebook: Path, assignment: str | None = None, isolation: str = "auto") -> dict:
    notebook = Path(notebook)
    assignment = assignment or guess_assignment(course, notebook)
    limits = course.limits(assignment)
    try:
        student_nb = read(notebook)
    except Exception as exc:
        return {"assignment": assignment, "error": f"the notebook cannot be read: {exc}"[:300]}
    reference = read(course.release_notebook(assignment)) if course.release_notebook(assignment).is_file() else student_nb
    submission = Submission(course, assignment, notebook, isolation, limits, probes_source=NAMES_PROBE)
    try:
        names = submission.call("defined_names")
    except Exception as exc:
        names, error = [], str(exc)
    else:
        error = None
    finally:
        submission.close()
    status = {c["id"]: c for c in submission.execution}
    sources = {nbgrader_meta(c).get("grade_id"): c.source for c in student_nb.cells if nbgrader_meta(c)}
    report = []
    for ex in exercises(reference):
        ran = status.get(ex["cell"])
        stubbed = any(STUB in sources.get(s, "") for s in ex["solutions"])
        if ran is None:
            state = "missing" if ex["cell"] not in sources else "not run"
        elif ran["status"] == "ok":
            state = "done"
        else:
            state = "not started" if stubbed and "NotImplementedError" in (ran["error"] or "") else "failing"
        report.append({"exercise": ex["cell"], "points": ex["points"], "state": state,
                       "error": None if state == "done" else (ran or {}).get("error")})
    slow = [c for c in submission.execution if c["seconds"] > limits.cell_seconds / 2]
    total = sum(c["seconds"] for c in submission.execution)
    return {"assignment": assignment, "error": error or submission.error, "exercises": report,
            "missing_names": [n for n in interface(reference) if n not in names],
            "slow_cells": slow, "seconds": total, "limits": limits}


def render(result: dict) -> str:
    if "exercises" not in result:
        return f"{result['assignment']}: {result['error']}"
    lines = [f"{result['assignment']}: ran in {result['seconds']:.1f} s "
             f"(grading limit {result['limits'].notebook_seconds:g} s)"]
    if result["error"]:
        lines.append(f"  problem: {result['error']}")
    mark = {"done": "✓", "failing": "✗", "not started": "·"}
    for ex in result["exercises"]:
        line = f"  {mark.get(ex['state'], '?')} {ex['exercise']:<32} {ex['state']}"
        if ex["state"] == "failing" and ex["error"]:
            line += f": {ex['error']}"
        lines.append(line)
    if result["missing_names"]:
        lines.append("  missing names (the grader looks for these): " + ", ".join(result["missing_names"]))
    for cell in result["slow_cells"]:
        lines.append(f"  slow: cell {cell['index'] + 1} ({cell['id']}) took {cell['seconds']:.1f} s of the "
                     f"{result['limits'].cell_seconds:g} s a cell may take when graded")
    if result["seconds"] > result["limits"].notebook_seconds / 2:
        lines.append("  slow: the whole notebook uses more than half of its grading time limit")
    lines.append("Only the visible tests ran; the hidden tests check more (other shapes, other seeds).")
    return "\n".join(lines)
