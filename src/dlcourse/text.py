"""Student-derived text made safe to keep and to show: bounded in size, control characters visible.

Everything that comes from a submission (error messages, cell ids, printed output, student
ids in folder names) is cut to a documented size before it is stored, and its control
characters are escaped before it reaches a terminal, a log or a page, so a message cannot
clear the instructor's screen, fake a "grading finished" line or bloat a results file.
"""

from __future__ import annotations

import re

# documented sizes (characters) for what a result record keeps
MESSAGE_CHARS = 1_000  # a test's message, a probe's error
ERROR_CHARS = 2_000  # the submission-level error
CELL_ID_CHARS = 100  # a cell id
CELL_ERROR_CHARS = 500  # a cell's error line
RECORD_BYTES = 1 << 20  # a whole result record, as JSON

# C0 and C1 controls, DEL, and Unicode's bidirectional overrides and isolates (which reorder
# what a terminal or a browser displays); newline and tab are handled by ``printable``'s caller
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, newlines: bool = True) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``); with
    ``newlines=False`` line breaks and tabs are escaped too (one-line contexts)."""
    text = _CONTROL.sub(_escape, text)
    if not newlines:
        text = text.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return text


def bound(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    size = f"{cut / 1e6:.1f} MB" if cut >= 1_000_000 else f"{cut:,} characters"
    return f"{text[:limit]}… ({size} more cut)"


def clean(value, limit: int, *, newlines: bool = True) -> str:
    """Any student-derived value as bounded, printable text (non-strings become their repr)."""
    text = value if isinstance(value, str) else repr(value)
    return printable(bound(text, limit), newlines=newlines)


def from_bytes(data: bytes, limit: int) -> str:
    """Bytes another process printed (any encoding, any content) as bounded printable text:
    the tail, which holds the error."""
    text = data[-limit * 4 :].decode("utf-8", errors="replace")
    if len(text) > limit:
        text = "…" + text[-limit:]
    return printable(text)
