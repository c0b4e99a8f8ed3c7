"""Reading a submitted notebook: untrusted JSON in, the code cells to run out.

The judge reads the file (JSON only, never code) so that a broken notebook becomes a clear
message, not a crash; the worker receives just the code cells' sources.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from dlcourse.text import CELL_ID_CHARS, clean

MAX_BYTES = 100 * 1024 * 1024
MAX_CELLS = 5_000
MAX_CODE_CHARS = 5_000_000


class SubmissionError(ValueError):
    """The submission cannot be graded at all; the message says why, for the student."""


def open_regular(path: Path, root: Path | None = None) -> bytes:
    """The bytes of a student's own notebook file, or SubmissionError saying why not.

    Only a regular file with one link is accepted, opened without following links; with
    ``root``, every folder from ``root`` down to the file is opened the same way (a real
    folder, not a link), so a submission cannot point at the instructor's files by a
    symbolic link anywhere on its path or by a hard link to the file itself. The file is read
    once, size-checked: everything after grades these bytes.
    """
    path = Path(path)
    if root is None:
        parts, base = [path.name], os.open(path.parent or ".", os.O_RDONLY | os.O_DIRECTORY)
    else:
        try:
            parts = list(path.relative_to(root).parts)
        except ValueError:
            raise SubmissionError(f"{path.name} is not inside the submissions folder") from None
        base = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    fds = [base]
    try:
        for part in parts[:-1]:
            try:
                fds.append(
                    os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fds[-1])
                )
            except OSError:
                raise SubmissionError(
                    f"your submission's folder {part!r} is a link or not a "
                    "folder; submit the notebook itself in a plain folder"
                ) from None
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fds[-1])
        except FileNotFoundError:
            raise SubmissionError(f"no notebook at {path.name}") from None
        except OSError:
            raise SubmissionError(
                "your submission is a link, not a file; submit the notebook file itself"
            ) from None
        fds.append(fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionError(f"{path.name} is not a regular file")
        if info.st_nlink != 1:
            raise SubmissionError(
                "your submission is a link to another file, not a file of its "
                "own; submit a copy of the notebook"
            )
        if info.st_size > MAX_BYTES:
            raise SubmissionError(
                f"the notebook is {info.st_size / 2**20:.0f} MiB, more than the "
                f"{MAX_BYTES // 2**20} MiB limit; clear its outputs and submit again"
            )
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise SubmissionError(f"the notebook is more than the {MAX_BYTES // 2**20} MiB limit")
        return data
    finally:
        for fd in fds:
            os.close(fd)


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
    nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
    grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    ident = grade_id if isinstance(grade_id, str) and grade_id else cell.get("id")
    if not isinstance(ident, str) or not ident:
        ident = f"cell-{index}"
    return clean(ident, CELL_ID_CHARS, newlines=False)


def parse_code_cells(raw: bytes) -> list[dict]:
    """``[{"id", "source"}, ...]`` for a notebook's code cells, or SubmissionError: whatever the
    bytes are, the answer is one of the two (a bug of ours would be any other exception)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(
            f"the notebook is not UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError, MemoryError) as exc:  # int-string limit: ValueError
        reason = clean(str(exc), 200, newlines=False)
        raise SubmissionError(
            f"cannot read this notebook: it is not valid JSON ({reason})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise SubmissionError("the file is not a Jupyter notebook (no list of cells)")
    if type(data.get("nbformat")) is not int or data.get("nbformat") != 4:
        shown = clean(data.get("nbformat"), 40, newlines=False)
        raise SubmissionError(
            f"the notebook has nbformat {shown}; "
            "only nbformat 4 notebooks (any Jupyter since 2015) can be graded"
        )
    cells = data["cells"]
    if len(cells) > MAX_CELLS:
        raise SubmissionError(
            f"the notebook has {len(cells)} cells, more than the limit of {MAX_CELLS}"
        )
    code = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise SubmissionError(f"cell {index + 1} is not a notebook cell")
        if cell.get("cell_type") == "code":
            code.append({"id": _cell_id(cell, index), "source": _source(cell)})
    if sum(len(c["source"]) for c in code) > MAX_CODE_CHARS:
        raise SubmissionError("the notebook's code is larger than the 5 MB limit")
    return code


def read_code_cells(path: Path, root: Path | None = None) -> list[dict]:
    """The code cells of the notebook file at ``path`` (see :func:`open_regular`)."""
    return parse_code_cells(open_regular(path, root))


def read(path: Path):
    """A trusted notebook of the course (source, release, solutions), as an nbformat node."""
    import nbformat

    return nbformat.read(str(path), as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_cells(nb) -> dict[str, float]:
    """``{grade_id: points}`` for the notebook's grade cells."""
    return {
        nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c).get("points", 0))
        for c in nb.cells
        if nbgrader_meta(c).get("grade")
    }
