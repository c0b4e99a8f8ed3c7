"""The HTML pages (feedback, class report, similarity), rendered from Jinja2 templates.

Autoescaping is on for every template, so any text, trusted or not, is HTML-escaped; what the
student controls is also passed through :func:`shown` (control characters escaped, length
bounded: :func:`dlcourse.text.clean`) by the modules that build the pages' data.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from dlcourse.text import clean


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("dlcourse", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pts"] = lambda value: f"{float(value):g}"
    return env


def shown(value, limit: int = 2000) -> str:
    """Any value a page shows, as bounded text with its control characters escaped."""
    return clean("" if value is None else str(value), limit)


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


def write(path: Path, text: str) -> Path:
    """Write atomically (a reader never sees half a page)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
