"""`dlcourse report <assignment>`: the class at a glance, for instructors.

From the gradebook the graders wrote (totals, submission times, due date) and the result
records (each test's verdict and message, each cell's time): the score histogram, each test's
pass rate (which concepts the class misses), its discrimination (the point-biserial correlation
of passing it with the rest of the score: a test that strong students fail is suspect), the
most frequent failure messages, cell times against the limits (who came close), and late
submissions. Written as ``report.html`` (figures embedded) plus ``tests.csv`` and
``students.csv``.
"""

from __future__ import annotations

import base64
import csv
import datetime
import io
import json
import math
from collections import Counter
from pathlib import Path

from dlcourse import pages
from dlcourse.pages import shown
from dlcourse.course import Course
from dlcourse.exercises import by_cell, course_outline
from dlcourse.scores import totals

CLOSE = 0.5  # a cell or notebook above this fraction of its limit "came close"
TOP_MESSAGES = 10


def point_biserial(passed: list[bool], rest: list[float]) -> float | None:
    """Pearson correlation of a 0/1 item with the rest of the score; None when either is constant."""
    n = len(passed)
    if n < 2:
        return None
    x = [1.0 if p else 0.0 for p in passed]
    mx, my = sum(x) / n, sum(rest) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, rest))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in rest)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def load_results(folder: Path, assignment: str, students) -> dict[str, dict]:
    out = {}
    for student in students:
        path = Path(folder) / student / f"{assignment}.json"
        if path.is_file():
            out[student] = json.loads(path.read_text(encoding="utf-8"))
    return out


def _submitted_times(submitted: Path | None, assignment: str, students) -> dict:
    """nbgrader's ``submitted/<student>/<assignment>/timestamp.txt``, where there is one."""
    out = {}
    if submitted is None:
        return out
    root = submitted / "submitted" if (submitted / "submitted").is_dir() else submitted
    for student in students:
        stamp = root / student / assignment / "timestamp.txt"
        if stamp.is_file():
            try:
                value = datetime.datetime.fromisoformat(stamp.read_text().strip().replace(" UTC", ""))
            except ValueError:
                continue
            out[student] = value.replace(tzinfo=None) if value.tzinfo is None else \
                value.astimezone(datetime.UTC).replace(tzinfo=None)
    return out


def analyse(course: Course, assignment: str, gradebook: Path, results_dir: Path,
            submitted: Path | None = None) -> dict:
    """Every number of the report (the figures are drawn from these)."""
    book = totals(gradebook, assignment)
    students = sorted(book["scores"])
    records = load_results(results_dir, assignment, students)
    limits = course.limits(assignment)
    owner = by_cell(course_outline(course, assignment))
    names: list[str] = []
    info: dict[str, dict] = {}
    for record in records.values():
        for t in record.get("tests", []):
            if t["name"] not in info:
                names.append(t["name"])
                ex = owner.get(t.get("cell"))
                info[t["name"]] = {"name": t["name"], "cell": t.get("cell", ""),
                                   "exercise": ex.label if ex else "", "max_points": t["max_points"],
                                   "description": t.get("description", "")}
    tests = []
    graded = [s for s in students if s in records]
    for name in names:
        verdicts, rest, messages = [], [], Counter()
        for s in graded:
            row = next((t for t in records[s]["tests"] if t["name"] == name), None)
            if row is None:
                continue
            verdicts.append(bool(row["passed"]))
            rest.append(book["scores"][s] - float(row["points"]))
            if not row["passed"] and row.get("message"):
                messages[row["message"]] += 1
        rate = sum(verdicts) / len(verdicts) if verdicts else None
        r = point_biserial(verdicts, rest)
        flag = ("nobody passed: broken, or not taught?" if rate == 0 else
                "everyone passed: too easy?" if rate == 1 else
                "suspect: stronger students fail it more often" if r is not None and r < 0 else "")
        tests.append({**info[name], "students": len(verdicts), "pass_rate": rate,
                      "discrimination": r, "flag": flag, "messages": messages})
    tests.sort(key=lambda t: (t["pass_rate"] if t["pass_rate"] is not None else 2, t["name"]))
    failures = Counter()
    for t in tests:
        for message, count in t["messages"].items():
            failures[(t["name"], message)] += count
    times = {}
    for s in graded:
        cells = [c for c in records[s].get("execution") or [] if isinstance(c.get("seconds"), (int, float))]
        slowest = max(cells, key=lambda c: c["seconds"], default=None)
        times[s] = {"notebook": sum(c["seconds"] for c in cells),
                    "cell": slowest["seconds"] if slowest else 0.0,
                    "cell_id": slowest["id"] if slowest else ""}
    close = sorted((s for s, t in times.items()
                    if t["cell"] > CLOSE * limits.cell_seconds or t["notebook"] > CLOSE * limits.notebook_seconds),
                   key=lambda s: -times[s]["notebook"])
    stamps = {**book["timestamps"], **_submitted_times(submitted, assignment, students)}
    late = []
    if book["due"] is not None:
        late = sorted(((s, stamps[s] - book["due"]) for s in students
                       if stamps.get(s) and stamps[s] > book["due"]), key=lambda x: -x[1])
    return {"assignment": assignment, "possible": book["possible"], "due": book["due"],
            "scores": {s: book["scores"][s] for s in students}, "tests": tests,
            "failures": failures.most_common(TOP_MESSAGES), "times": times, "close": close,
            "late": late, "limits": limits, "without_results": [s for s in students if s not in records]}


# --- figures ------------------------------------------------------------------------------

def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def figures(data: dict) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    fig, ax = plt.subplots(figsize=(6.5, 3))
    scores = list(data["scores"].values())
    ax.hist(scores, bins=min(20, max(5, int(data["possible"]) + 1)), range=(0, data["possible"]),
            color="#3465a4", edgecolor="white")
    ax.set_xlabel(f"score (of {data['possible']:g})")
    ax.set_ylabel("students")
    ax.set_title("Scores")
    out["histogram"] = _png(fig)

    rated = [t for t in data["tests"] if t["pass_rate"] is not None]
    fig, ax = plt.subplots(figsize=(6.5, 0.25 * len(rated) + 1))
    ax.barh([t["name"].removeprefix("test_") for t in rated], [100 * t["pass_rate"] for t in rated],
            color=["#a32020" if t["pass_rate"] < 0.5 else "#3465a4" for t in rated])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("students who passed (%)")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("Pass rate per test, lowest first")
    out["pass_rates"] = _png(fig)

    fig, ax = plt.subplots(figsize=(6.5, 3))
    limits = data["limits"]
    cells = [t["cell"] / limits.cell_seconds for t in data["times"].values()]
    whole = [t["notebook"] / limits.notebook_seconds for t in data["times"].values()]
    ax.hist([cells, whole], bins=20, range=(0, 1.05), label=["slowest cell / cell limit",
                                                             "whole notebook / notebook limit"],
            color=["#3465a4", "#f57900"])
    ax.axvline(CLOSE, color="#888", linestyle="--", linewidth=1)
    ax.set_xlabel("fraction of the time limit used")
    ax.set_ylabel("students")
    ax.legend(fontsize=8)
    ax.set_title("Run time against the limits")
    out["times"] = _png(fig)
    return out


# --- output -------------------------------------------------------------------------------

def _fmt(value, digits=2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def write(data: dict, out: Path) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "tests.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["test", "cell", "exercise", "max_points", "students", "pass_rate", "discrimination",
                    "failures", "flag"])
        for t in data["tests"]:
            w.writerow([t["name"], t["cell"], t["exercise"], f"{t['max_points']:g}", t["students"],
                        _fmt(t["pass_rate"], 4), _fmt(t["discrimination"], 4),
                        sum(t["messages"].values()), t["flag"]])
    late = dict(data["late"])
    with open(out / "students.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "score", "max_score", "notebook_seconds", "slowest_cell_seconds", "late_by"])
        for s, score in data["scores"].items():
            t = data["times"].get(s, {})
            w.writerow([s, f"{score:g}", f"{data['possible']:g}", _fmt(t.get("notebook"), 1),
                        _fmt(t.get("cell"), 1), str(late[s]).split(".")[0] if s in late else ""])
    scores = sorted(data["scores"].values())
    n = len(scores)
    summary = {"students": n, "mean": sum(scores) / n if n else 0,
               "median": (scores[(n - 1) // 2] + scores[n // 2]) / 2 if n else 0}
    limits = data["limits"]
    page = pages.render(
        "report.html.j2", assignment=data["assignment"], possible=f"{data['possible']:g}",
        summary={k: f"{v:.3g}" if isinstance(v, float) else v for k, v in summary.items()},
        figures=figures(data) if n else {},
        tests=[{"name": t["name"], "exercise": t["exercise"], "description": t["description"],
                "max_points": f"{t['max_points']:g}", "pass_rate": _fmt(100 * t["pass_rate"], 0) if t["pass_rate"] is not None else "", "discrimination": _fmt(t["discrimination"]),
                "flag": t["flag"]} for t in data["tests"]],
        failures=[{"test": name, "message": shown(message, 300), "count": count}
                  for (name, message), count in data["failures"]],
        close=[{"student": shown(s, 130), "notebook": _fmt(data["times"][s]["notebook"], 1),
                "cell": _fmt(data["times"][s]["cell"], 1), "cell_id": shown(data["times"][s]["cell_id"], 80)}
               for s in data["close"]],
        limits={"cell": f"{limits.cell_seconds:g}", "notebook": f"{limits.notebook_seconds:g}"},
        due=str(data["due"]) if data["due"] else "",
        late=[{"student": shown(s, 130), "by": str(delta).split(".")[0]} for s, delta in data["late"]],
        without_results=[shown(s, 130) for s in data["without_results"]])
    return pages.write(out / "report.html", page)


def report(course: Course, assignment: str, *, gradebook: Path | None = None, results: Path | None = None,
           submitted: Path | None = None, out: Path | None = None) -> Path:
    gradebook = Path(gradebook or course.grading / "gradebook.db")
    results = Path(results or Path(gradebook).parent / "results")
    data = analyse(course, assignment, gradebook, results, submitted)
    return write(data, Path(out or Path(gradebook).parent / "report" / assignment))
