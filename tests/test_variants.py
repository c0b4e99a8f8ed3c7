"""Committed variant suites: every grader accepts differently written correct solutions and
rejects plausible wrong ones, on exactly the tests the mistake concerns.

A variant is a file ``tests/variants/<assignment>/<name>.py`` holding replacement sources for
solution cells, keyed by their nbgrader ``grade_id``, and the hidden tests it must fail::

    \"\"\"One line: what is different (an alternative, or the mistake).\"\"\"
    MUST_FAIL = ["test_bce_matches_bceloss"]   # empty for a correct alternative; "all": every test
    CELLS = {"binary_cross_entropy": "def binary_cross_entropy(yhat, y):\\n    ..."}
    EDITS = {"cuda_tools": [("statistics.median(times)", "statistics.mean(times)")]}

``CELLS`` replaces a whole cell; ``EDITS`` changes the instructor's solution cell by replacing
text that occurs in it exactly once (a one-line mistake stays one line, in step with the
solution). Every other cell keeps the instructor's solution. All variants of an assignment are
graded in one class run through ``dlcourse grade``; each must fail exactly its ``MUST_FAIL``
tests.
"""

from __future__ import annotations

import functools
import runpy

import pytest

from conftest import ROOT, grade_json, submit, with_solutions
from dlcourse.course import Course
from dlcourse.notebook import nbgrader_meta, read

VARIANTS = ROOT / "tests" / "variants"


@functools.cache
def solution_cells(assignment: str) -> dict[str, str]:
    """The instructor's solution cells of an assignment, by grade_id (read once per assignment)."""
    source = read(Course(ROOT).source_notebook(assignment))
    return {
        nbgrader_meta(c)["grade_id"]: c.source
        for c in source.cells
        if nbgrader_meta(c).get("solution")
    }


def apply_edits(solution: str, edits, where: str) -> str:
    """``solution`` with each ``(old, new)`` applied; ``old`` must occur in it exactly once."""
    for old, new in edits:
        count = solution.count(old)
        if count != 1:
            raise ValueError(f"{where}: {old!r} occurs {count} times in the solution, not once")
        solution = solution.replace(old, new)
    return solution


def load_variants() -> dict[str, dict[str, dict]]:
    """``{assignment: {variant: {"must_fail": set, "cells": dict, "doc": str}}}``."""
    out: dict[str, dict[str, dict]] = {}
    for path in sorted(VARIANTS.glob("*/*.py")):
        spec = runpy.run_path(str(path))
        must_fail = spec.get("MUST_FAIL", ())
        cells, error = dict(spec.get("CELLS", {})), None
        if spec.get("EDITS"):
            solutions = solution_cells(path.parent.name)
            for grade_id, edits in spec["EDITS"].items():
                where = f"{path.parent.name}/{path.name}, cell {grade_id}"
                try:
                    cells[grade_id] = apply_edits(
                        cells.get(grade_id, solutions.get(grade_id, "")), edits, where
                    )
                except ValueError as e:
                    error = str(e)
        out.setdefault(path.parent.name, {})[path.stem] = {
            "must_fail": {"all"} if must_fail == "all" else set(must_fail),
            "cells": cells,
            "doc": (spec.get("__doc__") or "").strip(),
            "error": error,  # an edit that no longer applies to the solution: told by its test
        }
    return out


ALL = load_variants()
# Module 6's notebook trains a CNN and runs an ablation (minutes each on 2 CPU cores): its 12
# variants are a separate, heavy suite (`pytest -m heavy tests/test_variants.py`), not in `make test`
HEAVY = {"06_mnist_cnn_project"}
CASES = [
    pytest.param(a, v, id=f"{a}/{v}", marks=[pytest.mark.heavy] if a in HEAVY else [])
    for a, variants in ALL.items()
    for v in variants
]


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course):
    """Grade each assignment's variants once, as one class; ``{assignment: {student: record}}``."""
    cache: dict[str, dict[str, dict]] = {}

    def get(assignment: str) -> dict[str, dict]:
        if assignment not in cache:
            folder = tmp_path_factory.mktemp(f"variants-{assignment}")
            source = read(course.source_notebook(assignment))
            for name, variant in ALL[assignment].items():
                if variant["error"]:
                    continue
                nb = with_solutions(
                    read(course.release_notebook(assignment)), source, variant["cells"]
                )
                submit(folder, name.replace("_", "-"), assignment, nb)
            records = grade_json(assignment, folder, folder / "out", "--workers", "2")
            cache[assignment] = {r["student"]: r for r in records}
        return cache[assignment]

    return get


@pytest.mark.slow
def test_variant_files_are_well_formed(course):
    """Each variant replaces real solution cells and names real hidden tests."""
    from dlcourse.grade import list_tests

    for assignment, variants in ALL.items():
        source = read(course.source_notebook(assignment))
        solution_ids = {
            nbgrader_meta(c).get("grade_id")
            for c in source.cells
            if nbgrader_meta(c).get("solution")
        }
        tests = {t["name"] for t in list_tests(course, assignment)}
        for name, variant in variants.items():
            assert variant["doc"], f"{assignment}/{name}.py needs a docstring saying what it is"
            assert set(variant["cells"]) <= solution_ids, f"{assignment}/{name}: unknown cells"
            assert variant["must_fail"] <= tests | {"all"}, f"{assignment}/{name}: unknown tests"


@pytest.mark.slow
@pytest.mark.parametrize("assignment,variant", CASES)
def test_variant_fails_exactly_its_tests(graded, assignment, variant):
    if ALL[assignment][variant]["error"]:
        pytest.fail(ALL[assignment][variant]["error"])
    record = graded(assignment)[variant.replace("_", "-")]
    failed = {t["name"] for t in record["tests"] if not t["passed"]}
    expected = ALL[assignment][variant]["must_fail"]
    if expected == {"all"}:
        expected = {t["name"] for t in record["tests"]}
    messages = {t["name"]: t["message"] for t in record["tests"] if not t["passed"]}
    assert failed == expected, (
        f"{ALL[assignment][variant]['doc']}\nfailed but should pass: "
        f"{ {n: messages[n] for n in failed - expected} }\n"
        f"passed but should fail: {sorted(expected - failed)}"
    )
