"""Reading a submitted notebook: untrusted JSON in, the code cells to run out.

The judge reads the file (JSON only, never code) so that a broken notebook becomes a clear
message, not a crash; the worker receives just the code cells' sources.
"""

from __future__ import annotations

import json
from pathlib import Path

MAX_BYTES = 100 * 1024 * 1024
MAX_CELLS = 5_000
MAX_CODE_CHARS = 5_000_000


class SubmissionError(ValueError):
    """The submission cannot be graded at all; the message says why, for the student."""


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        if not all(isinstance(line, str) for line in source):
            raise SubmissionError("a cell's source is not text")
        source = "".join(source)
    if not isinstance(source, str):
        raise SubmissionError("a cell's source is not text")
    return source


def _cell_id(cell: dict, index: int) -> str:
    meta = cell.get("metadata")
    grade_id = meta.get("nbgrader", {}).get("grade_id") if isinstance(meta, dict) and isinstance(
        meta.get("nbgrader"), dict) else None
    ident = grade_id or cell.get("id") or f"cell-{index}"
    return str(ident)[:200]


def read_code_cells(path: Path) -> list[dict]:
    """Return ``[{"id", "source"}, ...]`` for the notebook's code cells, or raise SubmissionError."""
    path = Path(path)
    if path.is_symlink():
        raise SubmissionError(f"{path.name} is a link, not a notebook file")
    if not path.is_file():
        raise SubmissionError(f"no notebook at {path.name}")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SubmissionError(f"the notebook is {size / 2**20:.0f} MiB, more than the "
                              f"{MAX_BYTES // 2**20} MiB limit; clear its outputs and submit again")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"the notebook is not UTF-8 text (bad byte at offset {exc.start})") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError: also a 5,000-digit number
        raise SubmissionError(f"the notebook is not valid JSON ({exc})"[:300]) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise SubmissionError("the file is not a Jupyter notebook (no list of cells)")
    if data.get("nbformat") != 4:
        raise SubmissionError(f"the notebook has nbformat {data.get('nbformat')!r}; "
                              "only nbformat 4 notebooks (any Jupyter since 2015) can be graded")
    cells = data["cells"]
    if len(cells) > MAX_CELLS:
        raise SubmissionError(f"the notebook has {len(cells)} cells, more than the limit of {MAX_CELLS}")
    code = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise SubmissionError(f"cell {index} is not a notebook cell")
        if cell.get("cell_type") == "code":
            code.append({"id": _cell_id(cell, index), "source": _source(cell)})
    if sum(len(c["source"]) for c in code) > MAX_CODE_CHARS:
        raise SubmissionError("the notebook's code is larger than the 5 MB limit")
    return code


def read(path: Path):
    """A trusted notebook of the course (source, release, solutions), as an nbformat node."""
    import nbformat

    return nbformat.read(str(path), as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_cells(nb) -> dict[str, float]:
    """``{grade_id: points}`` for the notebook's grade cells."""
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c).get("points", 0))
            for c in nb.cells if nbgrader_meta(c).get("grade")}
