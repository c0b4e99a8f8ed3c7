"""A feedback report per student: score, each hidden test's verdict and message, broken cells.

Built only from the result record (test names, points, messages written for students, cell
errors), never from the graders' code, so hidden tests and expected values cannot leak.
"""

from __future__ import annotations

import html
from itertools import groupby
from pathlib import Path

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
.pass { color: #17663a; } .fail { color: #a32020; } .note { background: #fff6d6; padding: .6rem; }
code { background: #f3f3f3; padding: 0 .2rem; }
"""


def _points(value: float) -> str:
    return f"{value:g}"


def render(result: dict) -> str:
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(result['assignment'])} — "
             f"{e(result['student'])}</title><style>{STYLE}</style></head><body>",
             f"<h1>{e(result['assignment'])}</h1>",
             f"<p>Student: <b>{e(result['student'])}</b> · Score: <b>{_points(result['score'])} / "
             f"{_points(result['max_score'])}</b></p>"]
    if result.get("late"):  # deadlines.apply: when it was handed in, and the penalty
        parts.append(f"<p class='note'>Submitted {e(str(result.get('submitted')))} UTC, due "
                     f"{e(str(result.get('due')))} UTC: {e(result['late']['text'])} (before the "
                     f"penalty: {_points(result.get('raw_score', result['score']))})</p>")
    if result.get("error"):
        parts.append(f"<p class='note'>Your notebook could not be fully graded: {e(result['error'])}</p>")
    for cell, tests in groupby(result["tests"], key=lambda t: t["cell"]):
        tests = list(tests)
        got = sum(t["points"] for t in tests)
        total = sum(t["max_points"] for t in tests)
        parts.append(f"<h2><code>{e(cell)}</code> — {_points(got)} / {_points(total)}</h2><table>"
                     "<tr><th>check</th><th>points</th><th>result</th></tr>")
        for t in tests:
            verdict = ("<span class='pass'>passed</span>" if t["passed"]
                       else f"<span class='fail'>failed</span>: {e(t['message'])}")
            parts.append(f"<tr><td>{e(t['name'])}</td><td>{_points(t['points'])} / "
                         f"{_points(t['max_points'])}</td><td>{verdict}</td></tr>")
        parts.append("</table>")
    broken = [c for c in result.get("execution", []) if c.get("status") != "ok"]
    if broken:
        parts.append("<h2>Cells that raised an error while your notebook ran</h2><table>"
                     "<tr><th>cell</th><th>error</th></tr>")
        for c in broken:
            parts.append(f"<tr><td>{e(str(c.get('index', 0) + 1))} (<code>{e(str(c.get('id', '')))}</code>)"
                         f"</td><td>{e(str(c.get('error', '')))}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(result: dict, folder: Path) -> Path:
    """Write ``<folder>/<student>/<assignment>/feedback.html`` (nbgrader's feedback layout)."""
    out = Path(folder) / result["student"] / result["assignment"] / "feedback.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(render(result), encoding="utf-8")
    tmp.replace(out)
    return out
