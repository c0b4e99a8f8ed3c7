"""What ``dlcourse check`` knows about each assignment: its limits, exercises and required names.

In a course checkout this comes from ``release/`` (or ``source/``) and
``autograder/<a>/assignment.toml``; in the student package (``dlcourse bundle student``) from
``dlcourse/course.json``, written by the bundle from the same places. So a student's check uses
the grader's own limits without any hidden grader, solution or probe on the student's machine.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from importlib import resources
from pathlib import Path

from dlcourse.course import Course, Limits
from dlcourse.exercises import Exercise, course_outline, from_dicts

PACKAGED = "course.json"


def describe(course: Course, assignment: str) -> dict:
    """One assignment's entry, from a course checkout."""
    exercises = course_outline(course, assignment)
    return {"notebook": course.notebook_name(assignment), "limits": asdict(course.limits(assignment)),
            "exercises": [e.to_dict() for e in exercises],
            "names": [n for e in exercises for n in e.names]}


def build(course: Course) -> dict:
    return {"assignments": {a: describe(course, a) for a in course.assignments()}}


def packaged() -> dict | None:
    """The catalog the student package carries, or None in a course checkout."""
    try:
        text = resources.files("dlcourse").joinpath(PACKAGED).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None
    return json.loads(text)


class Catalog:
    """The assignments ``check`` can check, with their limits and exercises."""

    def __init__(self, data: dict):
        self.data = data["assignments"]

    @classmethod
    def find(cls, course_root: Path | None = None) -> Catalog:
        """The course checkout (``--course``, ``$DLCOURSE_ROOT`` or around the current folder),
        else the catalog inside the installed student package."""
        try:
            return cls(build(Course(course_root)))
        except FileNotFoundError:
            data = packaged()
            if data is None:
                raise FileNotFoundError("not inside a course checkout, and this dlcourse package "
                                        "carries no course catalog (install the student "
                                        "package your instructor gave you)") from None
            return cls(data)

    def assignments(self) -> list[str]:
        return sorted(self.data)  # folder names: a numbered prefix sets the course order

    def limits(self, assignment: str) -> Limits:
        known = {f.name for f in fields(Limits)}
        return Limits(**{k: v for k, v in self.data[assignment]["limits"].items() if k in known})

    def exercises(self, assignment: str) -> list[Exercise]:
        return from_dicts(self.data[assignment]["exercises"])

    def names(self, assignment: str) -> list[str]:
        return list(self.data[assignment]["names"])

    def notebook_name(self, assignment: str) -> str:
        return self.data[assignment]["notebook"]

    def guess(self, notebook: Path) -> str:
        for assignment in self.assignments():
            if notebook.stem == assignment or assignment in Path(notebook).resolve().parts:
                return assignment
        raise ValueError(f"cannot tell which assignment {notebook.name} is; pass --assignment")
