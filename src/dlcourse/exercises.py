"""An assignment's exercises, read from its notebook's structure.

Each ``## N. Title`` heading opens an exercise; the solution cells and grade cells under it
belong to it. Feedback, ``check`` and the class report group results by these exercises, so
students read "Exercise 2 — The Bernoulli likelihood and binary cross-entropy", not grade ids.
"""

from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass, field

from dlcourse.notebook import nbgrader_meta

HEADING = re.compile(r"^##\s+(?:(\d+)[.)]\s*)?(.+?)\s*$")


@dataclass
class Exercise:
    number: int
    title: str
    cells: list[str] = field(default_factory=list)  # grade cells
    solutions: list[str] = field(default_factory=list)  # solution cells
    names: list[str] = field(default_factory=list)  # functions and classes the solutions define
    points: float = 0.0

    @property
    def label(self) -> str:
        return f"Exercise {self.number} — {self.title}"

    def to_dict(self) -> dict:
        return asdict(self)


def defined_names(source: str) -> list[str]:
    """Top-level functions and classes of a cell (their signatures are in the release)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def outline(nb) -> list[Exercise]:
    """The exercises of a course notebook (source or release), in notebook order."""
    sections: list[Exercise] = []
    current = Exercise(0, "")
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
        match = HEADING.match(first) if cell.cell_type == "markdown" else None
        if match:
            sections.append(current)
            current = Exercise(0, match.group(2).strip())
        if cell.cell_type == "code" and meta.get("solution"):
            current.solutions.append(meta["grade_id"])
            current.names += defined_names(cell.source)
        if meta.get("grade"):
            current.cells.append(meta["grade_id"])
            current.points += float(meta.get("points", 0))
    sections.append(current)
    graded = [s for s in sections if s.cells]
    for number, exercise in enumerate(graded, 1):
        exercise.number = number
        exercise.title = exercise.title or exercise.cells[0]
    return graded


def from_dicts(items: list[dict]) -> list[Exercise]:
    return [Exercise(**item) for item in items]


def by_cell(exercises: list[Exercise]) -> dict[str, Exercise]:
    return {cell: ex for ex in exercises for cell in ex.cells}


_CACHE: dict[tuple, list[Exercise]] = {}


def course_outline(course, assignment: str) -> list[Exercise]:
    """The exercises of an assignment of a course checkout (its release, else its source)."""
    from dlcourse.notebook import read

    path = course.release_notebook(assignment)
    if not path.is_file():
        path = course.source_notebook(assignment)
    if not path.is_file():
        return []
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _CACHE:
        _CACHE[key] = outline(read(path))
    return _CACHE[key]
