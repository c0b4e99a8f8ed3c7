"""A feedback report per student that teaches: results grouped by exercise, what each hidden
test checked, failures first with their hints, points per exercise, and how it was graded.

Built only from the result record (descriptions and hints written for students, verdicts,
messages, cell errors), never from the graders' code, so hidden tests and expected values
cannot leak. Everything in a record may be student-controlled: it is shown through
:func:`~dlcourse.pages.shown` (control characters escaped, lengths bounded) and rendered
by an autoescaping Jinja2 template.
"""

from __future__ import annotations

from pathlib import Path

from dlcourse import pages
from dlcourse.exercises import Exercise, by_cell
from dlcourse.pages import shown
from dlcourse.text import MESSAGE_CHARS


def _pts(value) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return shown(value, 20)


def _test(t: dict) -> dict:
    name = shown(t.get("name", ""), 200)
    return {
        "name": name,
        "what": shown(t.get("description") or name.removeprefix("test_"), 300),
        "message": shown(t.get("message") or "failed", MESSAGE_CHARS),
        "hint": shown(t.get("hint") or "", 500),
        "max_points": _pts(t.get("max_points", 0)),
    }


def _pairs(value) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return []
    return [(shown(k, 40), shown(v, 200)) for k, v in list(value.items())[:20]]


def _seconds(value):
    return (
        f"{value:.1f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    )


def _late(record: dict) -> dict | None:
    """When the work was handed in and the late penalty, if any (``deadlines.apply``)."""
    late = record.get("late")
    if not isinstance(late, dict):
        return None
    return {
        "text": shown(late.get("text", ""), 200),
        "submitted": shown(record.get("submitted", ""), 40),
        "due": shown(record.get("due", ""), 40),
        "raw": _pts(record.get("raw_score", record.get("score", 0))),
    }


def view(record: dict, exercises: list[Exercise] | None = None) -> dict:
    """The template's data: every field shown, made visible and bounded."""
    exercises = exercises or []
    owner = by_cell(exercises)
    groups: dict[str, dict] = {}
    for ex in exercises:
        groups[ex.label] = {"label": ex.label, "tests": []}
    for t in record.get("tests", []):
        ex = owner.get(t.get("cell"))
        label = ex.label if ex else f"Checks of {shown(t.get('cell'), 80)}"
        groups.setdefault(label, {"label": label, "tests": []})["tests"].append(t)
    sections, first = [], None
    for group in groups.values():
        tests = group["tests"]
        if not tests:
            continue
        failed = [_test(t) for t in tests if not t.get("passed")]
        sections.append(
            {
                "label": group["label"],
                "failed": failed,
                "passed": [_test(t) for t in tests if t.get("passed")],
                "got": _pts(sum(float(t.get("points", 0)) for t in tests)),
                "total": _pts(sum(float(t.get("max_points", 0)) for t in tests)),
            }
        )
        if failed and first is None:
            first = {"exercise": group["label"], "test": failed[0]}
    execution = [c for c in record.get("execution") or [] if isinstance(c, dict)]
    broken = [
        {
            "index": shown(c.get("index", 0) + 1 if isinstance(c.get("index"), int) else "?", 10),
            "id": shown(c.get("id", ""), 120),
            "error": shown(c.get("error", ""), MESSAGE_CHARS),
        }
        for c in execution
        if c.get("status") != "ok"
    ]
    cell_seconds = sum(
        c["seconds"] for c in execution if isinstance(c.get("seconds"), (int, float))
    )
    grading = next(
        (record[k] for k in ("grading_seconds", "seconds", "elapsed") if k in record), None
    )
    return {
        "assignment": shown(record.get("assignment", ""), 100),
        "student": shown(record.get("student", ""), 130),
        "score": _pts(record.get("score", 0)),
        "max_score": _pts(record.get("max_score", 0)),
        "error": shown(record["error"], MESSAGE_CHARS) if record.get("error") else "",
        "first": first,
        "exercises": sections,
        "broken": broken,
        "late": _late(record),
        "cell_seconds": _seconds(cell_seconds) if execution else None,
        "grader": _pairs(record.get("grader")),
        "limits": _pairs(record.get("limits")),
        "grading_seconds": _seconds(grading),
        "cpu_seconds": _seconds(record.get("cpu_seconds")),
    }


def render(result: dict, exercises: list[Exercise] | None = None) -> str:
    return pages.render("feedback.html.j2", **view(result, exercises))


def write(result: dict, folder: Path, course=None) -> Path:
    """Write ``<folder>/<student>/<assignment>/feedback.html`` (nbgrader's feedback layout);
    with the course, results are grouped by the assignment's exercises."""
    from dlcourse.exercises import course_outline

    exercises = course_outline(course, result["assignment"]) if course is not None else None
    out = Path(folder) / result["student"] / result["assignment"] / "feedback.html"
    return pages.write(out, render(result, exercises))
