"""notebook.read_code_cells on untrusted files: the code cells out, or SubmissionError with a
message for the student, and never any other exception, whatever the bytes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlcourse import notebook
from dlcourse.notebook import SubmissionError, read_code_cells


def notebook_json(cells, **top) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells, **top})


def code(source, **extra) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], **extra}


def read_bytes(data: bytes):
    """read_code_cells on a file holding ``data`` (a fresh folder: hypothesis reruns a test)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "submission.ipynb"
        path.write_bytes(data)
        return read_code_cells(path)


def outcome(data: bytes):
    """The cells, or the SubmissionError's message; any other exception fails the test."""
    try:
        cells = read_bytes(data)
    except SubmissionError as exc:
        message = str(exc)
        assert message and len(message) <= 400 and "Traceback" not in message
        return message
    assert isinstance(cells, list)
    for cell in cells:
        assert set(cell) == {"id", "source"}
        assert isinstance(cell["id"], str) and 0 < len(cell["id"]) <= 200
        assert isinstance(cell["source"], str)
    return cells


def rejection(data: bytes | str) -> str:
    with pytest.raises(SubmissionError) as info:
        read_bytes(data.encode() if isinstance(data, str) else data)
    return str(info.value)


# --- what a good notebook gives ------------------------------------------------------


def test_code_cells_in_order_with_grade_ids_then_cell_ids_then_positions():
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# title"},
        code(["import torch\n", "x = 1"], metadata={"nbgrader": {"grade_id": "setup"}}, id="a1"),
        code("y = 2", id="b2"),
        code("z = 3"),
        {"cell_type": "raw", "metadata": {}, "source": "raw"},
    ]
    assert read_bytes(notebook_json(cells).encode()) == [
        {"id": "setup", "source": "import torch\nx = 1"},
        {"id": "b2", "source": "y = 2"},
        {"id": "cell-3", "source": "z = 3"},
    ]


def test_odd_but_harmless_metadata_is_not_a_problem():
    cells = [
        code("a", metadata="not a dict"),
        code("b", metadata={"nbgrader": 7}),
        code("c", metadata={"nbgrader": {"grade_id": ["x"]}}),
        code("d", id="i" * 500),
        {"source": "no type"},
        code("e", metadata={"nbgrader": {"grade_id": None}}, id=5),
    ]
    got = read_bytes(notebook_json(cells).encode())
    assert [c["source"] for c in got] == ["a", "b", "c", "d", "e"]
    ids = [c["id"] for c in got]
    assert ids[:2] == ["cell-0", "cell-1"]  # no usable grade_id or id: the cell's position
    assert all(isinstance(i, str) and 0 < len(i) <= 200 for i in ids)  # bounded text


def test_a_code_cell_without_source_is_empty():
    assert read_bytes(notebook_json([{"cell_type": "code"}]).encode()) == [
        {"id": "cell-0", "source": ""}
    ]


# --- each kind of malformed file, and its message ------------------------------------


@pytest.mark.parametrize(
    "data,words",
    [
        (b"", "not valid JSON"),
        (b'{"nbformat": 4, "cells": [', "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8 text (bad byte at offset 0)"),
        (b"[1, 2, 3]", "not a Jupyter notebook"),
        (b'"a string"', "not a Jupyter notebook"),
        (b'{"nbformat": 4}', "not a Jupyter notebook"),
        (b'{"nbformat": 4, "cells": {"a": 1}}', "not a Jupyter notebook"),
        (b'{"nbformat": 3, "cells": []}', "nbformat 3"),
        (b'{"nbformat": "4", "cells": []}', "only nbformat 4 notebooks"),
        (b'{"cells": []}', "only nbformat 4 notebooks"),
        (b'{"nbformat": 4, "cells": ["print(1)"]}', "is not a notebook cell"),
        (b'{"nbformat": 4, "cells": [{"cell_type": "code", "source": 42}]}', "source is not text"),
        (
            b'{"nbformat": 4, "cells": [{"cell_type": "code", "source": ["a", 1]}]}',
            "source is not text",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"nbformat": 4, "cells": [], "x": ' + b"1" * 5000 + b"}", "not valid JSON"),
    ],
    ids=[
        "empty",
        "truncated",
        "not-utf8",
        "array",
        "string",
        "no-cells",
        "cells-dict",
        "nbformat-3",
        "nbformat-string",
        "no-nbformat",
        "cell-string",
        "source-number",
        "source-list-number",
        "deeply-nested",
        "huge-integer",
    ],
)
def test_malformed_files_are_refused_with_a_reason(data, words):
    assert words in rejection(data)


def test_too_many_cells(monkeypatch):
    monkeypatch.setattr(notebook, "MAX_CELLS", 10)
    message = rejection(notebook_json([code("x")] * 11))
    assert message == "the notebook has 11 cells, more than the limit of 10"
    assert len(read_bytes(notebook_json([code("x")] * 10).encode())) == 10


def test_too_much_code(monkeypatch):
    monkeypatch.setattr(notebook, "MAX_CODE_CHARS", 100)
    assert "code is larger than" in rejection(notebook_json([code("x" * 60), code("y" * 41)]))


def test_too_large_a_file(monkeypatch):
    monkeypatch.setattr(notebook, "MAX_BYTES", 2**20)
    message = rejection(notebook_json([{"cell_type": "markdown", "source": "x" * 2**21}]))
    assert "MiB" in message and "clear its outputs" in message


def test_links_folders_and_missing_files(tmp_path):
    target = tmp_path / "real.ipynb"
    target.write_text(notebook_json([]))
    link = tmp_path / "link.ipynb"
    os.symlink(target, link)
    for path, words in [
        (link, "link"),
        (tmp_path / "nope.ipynb", "no notebook"),
        (tmp_path, "not"),  # a folder: no notebook, or not a regular file
    ]:
        with pytest.raises(SubmissionError, match=words):
            read_code_cells(path)


# --- anything at all -------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)
CELL_KEYS = st.sampled_from(["cell_type", "source", "metadata", "id", "outputs"])
CELLISH = st.dictionaries(CELL_KEYS, JSON | st.sampled_from(["code", "markdown"]), max_size=5)
NBGRADER = st.fixed_dictionaries(
    {
        "cell_type": st.just("code"),
        "source": JSON,
        "metadata": st.dictionaries(st.just("nbgrader"), JSON),
        "id": JSON,
    }
)


@given(st.binary(max_size=2000))
def test_random_bytes(data):
    outcome(data)


@given(JSON)
def test_random_json(value):
    outcome(json.dumps(value).encode())


@given(st.lists(CELLISH | NBGRADER | JSON, max_size=8), st.sampled_from([4, 4.0, 3, "4", None]))
def test_random_cells(cells, nbformat):
    got = outcome(notebook_json(cells, nbformat=nbformat).encode())
    if isinstance(got, list):  # accepted: exactly its code cells, in order
        assert len(got) == sum(isinstance(c, dict) and c.get("cell_type") == "code" for c in cells)


@given(st.binary(min_size=1, max_size=40), st.integers(0, 10_000))
def test_random_corruption_of_a_real_notebook(garbage, where):
    text = notebook_json(
        [code("import torch"), code(["x = ", "1"]), {"cell_type": "markdown", "source": "é ∑ 😀"}]
    ).encode()
    at = where % len(text)
    outcome(text[:at] + garbage + text[at + len(garbage) :])
