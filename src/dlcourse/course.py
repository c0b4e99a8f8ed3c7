"""Where things are in a course checkout, and each assignment's grading limits."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    """What grading one submission may use. Times are **CPU seconds per thread share**: a cell
    may use ``cell_seconds × threads`` seconds of CPU time, where ``threads`` is the worker's
    share of the cores (``OMP_NUM_THREADS``, set by ``dlcourse grade`` to cores / workers), so
    a limit means the same on an idle and on a saturated machine. A wall-clock backstop of
    3 × the limit + 60 s stops code that sleeps or waits instead of computing. See
    docs/limits.md for the table."""

    notebook_seconds: float = 600  # running all the cells
    cell_seconds: float = 300  # one cell
    probe_seconds: float = 60  # one probe call
    submission_seconds: float = 1200  # everything: the cells and all the probes together
    restarts: int = 3  # worker restarts after a cell or a probe ended its process
    memory_mb: int = 6144  # the worker's memory (a cgroup limit, or address space under rlimits)
    processes: int = 256  # processes and threads the worker may have at once


def parse_limits(pairs) -> dict:
    """``["cell_seconds=5", ...]`` → ``{"cell_seconds": 5.0}``, for command-line overrides."""
    types = {f.name: f.type for f in fields(Limits)}
    out = {}
    for pair in pairs or ():
        key, _, value = pair.partition("=")
        if key not in types:
            raise ValueError(f"unknown limit {key!r}; known: {', '.join(types)}")
        try:
            out[key] = int(value) if types[key] in (int, "int") else float(value)
        except ValueError:
            raise ValueError(f"limit {key} needs a number, got {value!r}") from None
        if not out[key] > 0:
            raise ValueError(f"limit {key} must be positive")
    return out


def find_root(start: Path | None = None) -> Path:
    """The course root: ``$DLCOURSE_ROOT``, else the nearest folder up with nbgrader_config.py."""
    if os.environ.get("DLCOURSE_ROOT"):
        return Path(os.environ["DLCOURSE_ROOT"]).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "source").is_dir():
            return folder
    package_root = Path(__file__).resolve().parents[2]
    if (package_root / "nbgrader_config.py").is_file():
        return package_root
    raise FileNotFoundError(
        "not inside a course checkout (no nbgrader_config.py with source/ found)"
    )


class Course:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else find_root()
        self.source = self.root / "source"
        self.release = self.root / "release"
        self.solutions = self.root / "solutions"
        self.autograder = self.root / "autograder"
        self.gradebook = self.root / "gradebook.db"
        self.grading = self.root / "grading"  # git-ignored: working gradebook, feedback, results

    def assignments(self) -> list[str]:
        """The course's assignments: each ``source/<name>/`` folder holding ``<name>.ipynb``,
        sorted by folder name (so a numbered prefix sets the course order)."""
        if not self.source.is_dir():
            return []
        return sorted(
            folder.name
            for folder in self.source.iterdir()
            if folder.is_dir()
            and not folder.name.startswith(".")
            and (folder / self.notebook_name(folder.name)).is_file()
        )

    def require(self, assignment: str) -> str:
        """``assignment`` if this course has it, else ValueError naming the ones it has."""
        if assignment not in self.assignments():
            raise ValueError(
                f"unknown assignment {assignment!r}; this course has: "
                + ", ".join(self.assignments())
            )
        return assignment

    def notebook_name(self, assignment: str) -> str:
        """Each assignment is one notebook named after it."""
        return f"{assignment}.ipynb"

    def source_notebook(self, assignment: str) -> Path:
        return self.source / assignment / self.notebook_name(assignment)

    def release_notebook(self, assignment: str) -> Path:
        return self.release / assignment / self.notebook_name(assignment)

    def solution_notebook(self, assignment: str) -> Path:
        return self.solutions / assignment / self.notebook_name(assignment)

    def graders(self, assignment: str) -> Path:
        return self.autograder / assignment

    def limits(self, assignment: str, **override) -> Limits:
        """The assignment's limits (``autograder/<a>/assignment.toml``), with overrides applied."""
        table = {}
        path = self.graders(assignment) / "assignment.toml"
        if path.is_file():
            with open(path, "rb") as f:
                table = tomllib.load(f).get("limits", {})
        known = [f.name for f in fields(Limits)]
        unknown = sorted(set(table) - set(known))
        if unknown:  # an instructor's typo: say where, not a TypeError from the dataclass
            raise ValueError(
                f"{path}: unknown limit(s) {', '.join(unknown)}; known: " + ", ".join(known)
            )
        return replace(Limits(**table), **override)
