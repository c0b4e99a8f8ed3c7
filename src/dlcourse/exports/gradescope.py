"""Gradescope's autograder ``results.json`` for one graded submission.

Messages are written to be shown; with ``hidden_until_due`` every test's result becomes
visible only after the due date (``after_due_date``) while the total score stays visible,
and a test that recorded an ``accuracy`` (Module 6, on the hidden test split) puts it on the
assignment's leaderboard.
"""

from __future__ import annotations

from dlcourse.text import clean

LEADERBOARD = {"accuracy": "Test accuracy (%)"}


def leaderboard(record: dict) -> list[dict]:
    """Leaderboard entries from the metrics the graders measured (judge-side, never the worker's)."""
    seen: dict[str, float] = {}
    for test in record.get("tests", []):
        for key, value in (test.get("metrics") or {}).items():
            if key in LEADERBOARD and key not in seen:
                seen[key] = value
    return [{"name": LEADERBOARD[k], "value": round(100 * v, 2), "order": "desc"} for k, v in seen.items()]


def _output(test: dict) -> str:
    """What the student reads for one test: what it checked, the message, the hint."""
    what = test.get("description") or ""
    if test["passed"]:
        return f"passed: {what}" if what else "passed"
    text = test.get("message") or "failed"
    if what:
        text = f"{what}\n{text}"
    if test.get("hint"):
        text += f"\nHint: {test['hint']}"
    return clean(text, 3000)


def results(record: dict, hidden_until_due: bool = False) -> dict:
    """The ``results.json`` object for ``record`` (a ``dlcourse grade`` result)."""
    visibility = "after_due_date" if hidden_until_due else "visible"
    out = {
        "score": record["score"],
        "output": f"{record['assignment']}: {record['score']:g} / {record['max_score']:g}"
                  + (f"\n{clean(record['error'], 2000)}" if record.get("error") else "")
                  + ("\nEach test's result is shown after the due date." if hidden_until_due else ""),
        "visibility": "visible",  # the total score: always shown
        "stdout_visibility": "hidden",
        "tests": [{"name": t["name"], "number": str(i + 1), "score": t["points"],
                   "max_score": t["max_points"], "status": "passed" if t["passed"] else "failed",
                   "output": _output(t), "tags": [t["cell"]], "visibility": visibility}
                  for i, t in enumerate(record["tests"])],
    }
    board = leaderboard(record)
    if board:
        out["leaderboard"] = board
    return out
