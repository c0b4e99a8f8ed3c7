"""Student-controlled text made safe to show: control characters visible, lengths bounded.

Messages, errors, cell ids and student ids all come from the submission. HTML escaping is the
templates' job (Jinja2 autoescape); this makes terminal escapes, bidirectional overrides and
other invisible characters visible (``\\x1b`` shows as ``␛``) and cuts very long text.
"""

from __future__ import annotations

import unicodedata

KEEP = {"\n", "\t"}


def _show(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode control pictures: ␀ … ␟ (␛ for ESC)
    if code == 0x7F:
        return "␡"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(value, limit: int = 2000) -> str:
    """``value`` as text with every control or format character shown, at most ``limit`` chars."""
    text = "" if value is None else str(value)
    extra = len(text) - limit
    if extra > 0:
        text = text[:limit]
    out = "".join(ch if ch in KEEP or unicodedata.category(ch)[0] != "C" else _show(ch) for ch in text)
    return out + (f" … ({extra} more characters)" if extra > 0 else "")
