"""Screening a submission for the instructor: data embedded in its code, and a class summary.

A model trained in the notebook needs no large literals; a notebook that carries the public
test set (labels as a string, image hashes as a dict, compressed images as base64) does. The
scan reads the code cells' sources as text (``ast``, never executing them) and returns flags
``{"kind", "evidence", "test"}`` like :func:`dlcourse.checks.flag`'s: evidence for a human,
never part of a grade. Thresholds sit far above anything the course's own notebooks contain
(``tests/test_testset.py`` checks every solution and release notebook scans clean).
"""

from __future__ import annotations

import ast
import re

LONG_LITERAL = 4_096  # characters in one string or bytes literal
CELL_LITERALS = 20_000  # characters of all string and bytes literals in one cell
CELL_NUMBERS = 2_000  # numeric constants written in one cell
ENCODED = re.compile(rb"^(?:[A-Za-z0-9+/=\s]+|[0-9a-fA-F\s]+)$")  # base64 or hex text
RAW_RUN = re.compile(r"[A-Za-z0-9+/=]{4096,}")  # for cells ast cannot parse


def _parse(source: str) -> ast.AST | None:
    """The cell as Python; IPython magics and shell lines (``%``, ``!``) are blanked first."""
    for text in (source, re.sub(r"(?m)^\s*[%!].*$", "", source)):
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return None


def _looks_encoded(value: str | bytes) -> str:
    raw = value.encode("utf-8", "replace") if isinstance(value, str) else value
    return " that looks like base64 or hex" if ENCODED.match(raw[:100_000]) else ""


def _scan_cell(source: str) -> str | None:
    """Evidence of embedded data in one cell's source, or None."""
    tree = _parse(source)
    if tree is None:
        run = RAW_RUN.search(source)
        return f"a {len(run.group()):,}-character encoded-looking run of text" if run else None
    longest: str | bytes = ""
    literal_chars = numbers = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (str, bytes)):
                literal_chars += len(node.value)
                longest = max(longest, node.value, key=len)
            elif isinstance(node.value, (int, float, complex)) and not isinstance(node.value, bool):
                numbers += 1
    if len(longest) >= LONG_LITERAL:
        kind = "bytes" if isinstance(longest, bytes) else "string"
        return f"a {len(longest):,}-character {kind} literal{_looks_encoded(longest)}"
    if literal_chars >= CELL_LITERALS:
        return f"{literal_chars:,} characters of string literals"
    if numbers >= CELL_NUMBERS:
        return f"{numbers:,} numeric constants"
    return None


def scan(cells: list[dict]) -> list[dict]:
    """Flags for code cells (``notebook.read_code_cells``' ``{"id", "source"}``) that embed data."""
    found = []
    for index, cell in enumerate(cells):
        evidence = _scan_cell(cell.get("source", ""))
        if evidence:
            found.append({"kind": "embedded_data",
                          "evidence": f"code cell {index + 1} ({cell.get('id', '')}) contains "
                                      f"{evidence}: more than a model trained here needs",
                          "test": ""})
    return found


def flag_summary(records: list[dict]) -> str:
    """The class table's footnote: which submissions were flagged, how often, and why.

    Empty when nothing was flagged. Flags never change a grade: they ask a human to look.
    """
    flagged = [r for r in records if r.get("flags")]
    if not flagged:
        return ""
    lines = [(f"flagged for the instructor (grades unchanged): {len(flagged)} of "
              f"{len(records)} submissions")]
    for record in flagged:
        lines.append(f"  {record.get('student', '?')}: {len(record['flags'])} flag(s)")
        for f in record["flags"]:
            where = f" in {f['test']}" if f.get("test") else ""
            lines.append(f"    {f['kind']}{where}: {f['evidence'][:300]}")
    return "\n".join(lines)
