"""When a submission was handed in, when it was due, and what lateness costs.

A submission's time is when it was handed in, never when it was graded: nbgrader's own
``timestamp.txt`` in the submission folder (written by ``nbgrader submit``/``collect``), else
the notebook file's modification time. Due dates and the late-penalty rule live in
``autograder/<assignment>/assignment.toml``::

    [deadline]
    due = 2026-12-01T23:59:00Z    # a TOML date-time (or a string nbgrader can parse)
    per = "hour"                  # "hour" or "day": the penalty counts each started one
    percent = 5                   # percent of the max score off per hour/day (or points = 1)
    cap_percent = 50              # never more than this (or cap_points = 8)

Without ``[deadline]`` the gradebook's own ``duedate`` (nbgrader's) is used, with no penalty.
Times are naive UTC datetimes, as nbgrader stores them.
"""

from __future__ import annotations

import datetime
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

UNIT_SECONDS = {"hour": 3600, "day": 86400}


def to_utc(value) -> datetime.datetime | None:
    """A TOML date-time, a datetime or a timestamp string → naive UTC (nbgrader's convention)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        from nbgrader.utils import parse_utc

        return parse_utc(value).replace(tzinfo=None)
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time())
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


def submitted_at(notebook: Path | None) -> datetime.datetime | None:
    """The hand-in time of the submission holding ``notebook`` (None when there is nothing)."""
    if notebook is None:
        return None
    stamp = Path(notebook).parent / "timestamp.txt"
    try:
        if stamp.is_file() and not stamp.is_symlink() and stamp.stat().st_size < 200:
            text = stamp.read_text(errors="replace").strip()
            if text:
                return to_utc(text)
    except (ValueError, OverflowError, OSError):
        pass  # an unreadable timestamp.txt falls back to the file's time
    try:
        mtime = os.lstat(notebook).st_mtime
    except OSError:
        return None
    return datetime.datetime.fromtimestamp(mtime, datetime.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Rule:
    """A late-penalty rule: so much per started hour or day late, capped."""

    due: datetime.datetime | None = None
    per: str | None = None  # "hour" | "day" | None (no penalty)
    percent: float = 0.0
    points: float = 0.0
    cap_percent: float = 100.0
    cap_points: float | None = None

    def penalty(self, seconds_late: float, score: float, max_score: float) -> float:
        """Points off (≥ 0, at most the score, as nbgrader's plugin checks)."""
        if seconds_late <= 0 or self.per is None:
            return 0.0
        units = math.ceil(seconds_late / UNIT_SECONDS[self.per])
        off = units * (self.points + self.percent / 100 * max_score)
        cap = self.cap_percent / 100 * max_score
        if self.cap_points is not None:
            cap = min(cap, self.cap_points)
        return round(max(0.0, min(off, cap, score)), 6)


def rule(assignment_toml: Path) -> Rule:
    """The ``[deadline]`` table of an assignment.toml (an empty rule when there is none)."""
    table = {}
    if Path(assignment_toml).is_file():
        with open(assignment_toml, "rb") as f:
            table = tomllib.load(f).get("deadline", {})
    unknown = set(table) - {"due", "per", "percent", "points", "cap_percent", "cap_points"}
    if unknown:
        raise ValueError(f"{assignment_toml}: unknown [deadline] keys {sorted(unknown)}")
    per = table.get("per")
    if per is not None and per not in UNIT_SECONDS:
        raise ValueError(f"{assignment_toml}: [deadline] per must be 'hour' or 'day'")
    return Rule(
        due=to_utc(table.get("due")),
        per=per,
        percent=float(table.get("percent", 0)),
        points=float(table.get("points", 0)),
        cap_percent=float(table.get("cap_percent", 100)),
        cap_points=None if "cap_points" not in table else float(table["cap_points"]),
    )


def seconds_late(timestamp: datetime.datetime | None, due: datetime.datetime | None) -> float:
    if timestamp is None or due is None:
        return 0.0
    return max(0.0, (timestamp - due).total_seconds())


def describe(seconds: float, penalty: float, max_score: float) -> str:
    """``late by 2 h 13 min: −10 %`` (for the table and the feedback)."""
    minutes = math.ceil(seconds / 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{mins} min"] * bool(mins)
    text = f"late by {' '.join(parts) or '0 min'}"
    if penalty > 0 and max_score > 0:
        text += f": \u2212{penalty / max_score * 100:.3g} % ({penalty:g} points)"
    return text


def apply(
    record: dict,
    timestamp: datetime.datetime | None,
    due: datetime.datetime | None,
    late_rule: Rule,
) -> dict:
    """Add ``submitted``, ``due``, ``late`` to a result record and take the penalty off its score.

    ``raw_score`` keeps the graders' total; ``score`` is what counts, as in ``nbgrader export``.
    """
    late = seconds_late(timestamp, due)
    raw = record["score"]
    penalty = late_rule.penalty(late, raw, record["max_score"])
    record.update(
        submitted=timestamp.isoformat() if timestamp else None,
        due=due.isoformat() if due else None,
        raw_score=raw,
        score=round(raw - penalty, 6),
        late={
            "seconds": late,
            "penalty": penalty,
            "text": describe(late, penalty, record["max_score"]),
        }
        if late > 0
        else None,
    )
    return record
