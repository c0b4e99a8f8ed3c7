"""CI's guard: fail when any grading result says it ran with less isolation than was asked for.

Each result record names the isolation its worker actually ran under (``"grader":
{"isolation": ...}``). A workflow that grades with ``--isolation bwrap`` runs, after grading,

    python -m dlcourse.isolation_check --expect bwrap "$RUNNER_TEMP/grading/results"

which reads every result file (``<out>/results/<student>/<assignment>.json``, or ``--json``
output: one record or a list) and exits 1, naming each offender, if a record says anything else,
says nothing, or if there are no records at all: isolation is never reduced in silence.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def records(paths: list[Path]) -> list[tuple[Path, object]]:
    """``(file, record)`` for every record in the given files and folders (recursively)."""
    found = []
    for path in paths:
        files = sorted(Path(path).rglob("*.json")) if Path(path).is_dir() else [Path(path)]
        for file in files:
            data = json.loads(file.read_text())
            found += [(file, r) for r in (data if isinstance(data, list) else [data])]
    return found


def problems(found: list[tuple[Path, object]], expect: str) -> list[str]:
    """One line per record that did not run under ``expect``; one line if there are none."""
    if not found:
        return ["no grading results were found"]
    out = []
    for file, record in found:
        grader = record.get("grader") if isinstance(record, dict) else None
        used = grader.get("isolation") if isinstance(grader, dict) else None
        if used != expect:
            who = (f"{record.get('student', '?')}/{record.get('assignment', '?')}"
                   if isinstance(record, dict) else "?")
            said = f"isolation {used!r}" if used else "no isolation recorded"
            out.append(f"{file}: {who} was graded with {said}, not {expect!r}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expect", default="bwrap", help="the isolation every record must name")
    parser.add_argument("paths", nargs="+", type=Path, help="result files or folders of them")
    args = parser.parse_args(argv)
    try:
        found = records(args.paths)
    except (OSError, ValueError) as exc:
        print(f"::error::could not read the grading results: {exc}")
        return 1
    bad = problems(found, args.expect)
    for line in bad:
        print(f"::error::{line}")
    if not bad:
        print(f"all {len(found)} grading results ran with isolation {args.expect!r}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
