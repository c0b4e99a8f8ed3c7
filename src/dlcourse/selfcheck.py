"""`dlcourse check`: a student's notebook run the way the grader runs it, with visible tests only.

Same worker, same sandbox, same time limits, top to bottom in a fresh process. It reports each
exercise as done, failing or not started (with its points), the interface names the notebook
lacks, and cells that are slow against the grading limit. It runs no hidden test and shows
none. It works in a course checkout and in the student package (``dlcourse bundle student``),
whose catalog carries the limits and exercises but no grader.
"""

from __future__ import annotations

from pathlib import Path

from dlcourse.catalog import Catalog
from dlcourse.judge import Submission
from dlcourse.notebook import nbgrader_meta, read
from dlcourse.text import clean

NAMES_PROBE = "def defined_names(nb):\n    return nb.names()\n"
STUB = "raise NotImplementedError()"
MARK = {"done": "✓", "failing": "✗", "not started": "·"}


def visible(value, limit: int) -> str:
    """Student-derived text for the terminal: control characters escaped, length bounded."""
    return clean("" if value is None else str(value), limit, newlines=False)


def _cell_state(ran: dict | None, present: bool, stubbed: bool) -> str:
    if ran is None:
        return "not started" if not present or stubbed else "failing"
    if ran["status"] == "ok":
        return "done"
    return "not started" if stubbed and "NotImplementedError" in (ran["error"] or "") else "failing"


def _exercise_state(states: list[str]) -> str:
    if all(s == "done" for s in states):
        return "done"
    return "not started" if all(s == "not started" for s in states) else "failing"


def check(catalog: Catalog, notebook: Path, assignment: str | None = None,
          isolation: str = "auto") -> dict:
    notebook = Path(notebook)
    assignment = assignment or catalog.guess(notebook)
    limits = catalog.limits(assignment)
    try:
        student_nb = read(notebook)
    except Exception as exc:
        return {"assignment": assignment, "notebook": str(notebook),
                "error": f"the notebook cannot be read: {exc}"[:300]}
    submission = Submission(None, assignment, notebook, isolation, limits, probes_source=NAMES_PROBE)
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
    for ex in catalog.exercises(assignment):
        stubbed = any(STUB in sources.get(s, "") for s in ex.solutions)
        cells = []
        for cell in ex.cells:
            ran = status.get(cell)
            state = _cell_state(ran, cell in sources, stubbed)
            cells.append({"cell": cell, "state": state,
                          "error": None if state == "done" else (ran or {}).get("error")})
        report.append({"number": ex.number, "label": ex.label, "points": ex.points,
                       "state": _exercise_state([c["state"] for c in cells]), "cells": cells})
    slow = [c for c in submission.execution if c["seconds"] > limits.cell_seconds / 2]
    total = sum(c["seconds"] for c in submission.execution)
    return {"assignment": assignment, "notebook": str(notebook), "error": error or submission.error,
            "exercises": report, "missing_names": [n for n in catalog.names(assignment) if n not in names],
            "slow_cells": slow, "seconds": total, "limits": limits}


def within_reach(result: dict) -> tuple[float, float]:
    """Points of the exercises whose visible tests pass, and all points."""
    exercises = result.get("exercises", [])
    return (sum(e["points"] for e in exercises if e["state"] == "done"),
            sum(e["points"] for e in exercises))


def passed(result: dict) -> bool:
    return not result.get("error") and all(e["state"] == "done" for e in result.get("exercises", []))


def render(result: dict) -> str:
    if "exercises" not in result:
        return f"{result['assignment']}: {visible(result['error'], 300)}"
    limits = result["limits"]
    lines = [f"{result['assignment']}: ran in {result['seconds']:.1f} s "
             f"(grading limit {limits.notebook_seconds:g} s)"]
    if result["error"]:
        lines.append(f"  problem: {visible(result['error'], 300)}")
    for ex in result["exercises"]:
        lines.append(f"  {MARK[ex['state']]} {ex['label']} ({ex['points']:g} points): {ex['state']}")
        for cell in ex["cells"]:
            if cell["state"] == "failing" and cell["error"]:
                lines.append(f"      test cell {cell['cell']}: {visible(cell['error'], 300)}")
    first = next((e for e in result["exercises"] if e["state"] == "failing"), None)
    if first:
        lines.append(f"  Fix this first: {first['label']}")
    got, total = within_reach(result)
    lines.append(f"  Points within reach: {got:g} of {total:g} (exercises whose visible tests pass)")
    if result["missing_names"]:
        lines.append("  missing names (the grader looks for these): " + ", ".join(result["missing_names"]))
    for cell in result["slow_cells"]:
        lines.append(f"  slow: cell {cell['index'] + 1} ({visible(cell['id'], 80)}) took "
                     f"{cell['seconds']:.1f} s of the {limits.cell_seconds:g} s a cell may take when graded")
    if result["seconds"] > limits.notebook_seconds / 2:
        lines.append("  slow: the whole notebook uses more than half of its grading time limit")
    lines.append("Only the visible tests ran; the hidden tests check more (other shapes, other seeds).")
    return "\n".join(lines)


def find_notebooks(catalog: Catalog, folder: Path) -> dict[str, Path | None]:
    """Each assignment's notebook under ``folder`` (``<a>/<a>.ipynb`` or anywhere below)."""
    found = {}
    for assignment in catalog.assignments():
        name = catalog.notebook_name(assignment)
        hits = sorted(p for p in Path(folder).rglob(name)
                      if ".ipynb_checkpoints" not in p.parts and not p.is_symlink())
        found[assignment] = hits[0] if hits else None
    return found


def check_all(catalog: Catalog, folder: Path, isolation: str = "auto", log=None) -> list[dict]:
    results = []
    for assignment, notebook in find_notebooks(catalog, folder).items():
        if notebook is None:
            results.append({"assignment": assignment, "notebook": None,
                            "error": "no notebook found", "exercises": [
                                {"number": e.number, "label": e.label, "points": e.points,
                                 "state": "not started", "cells": []}
                                for e in catalog.exercises(assignment)]})
            continue
        if log:
            log(f"checking {notebook} ...")
        results.append(check(catalog, notebook, assignment, isolation))
    return results


def render_all(results: list[dict]) -> str:
    """One overview: per assignment, each exercise's mark and the points within reach."""
    width = max(len(r["assignment"]) for r in results)
    lines = ["Progress (✓ done, ✗ failing, · not started):"]
    for r in results:
        marks = "".join(MARK[e["state"]] for e in r.get("exercises", []))
        got, total = within_reach(r)
        note = f"  {visible(r['error'], 120)}" if r.get("error") else ""
        lines.append(f"  {r['assignment']:<{width}}  {marks:<8} {got:>4g} / {total:<4g} points within "
                     f"reach{note}")
        for e in r.get("exercises", []):
            if e["state"] == "failing":
                lines.append(f"      ✗ {e['label']}")
    got = sum(within_reach(r)[0] for r in results)
    total = sum(within_reach(r)[1] for r in results)
    lines.append(f"  all assignments: {got:g} of {total:g} points within reach")
    return "\n".join(lines)
