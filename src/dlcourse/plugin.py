"""The pytest side of the judge: fixtures for graders, and one result per hidden test.

Graders get two fixtures: ``nb`` (the :class:`dlcourse.judge.Submission`, reachable only
through ``nb.call``) and ``seed`` (picked at run time). Every test must carry
``@grade(cell=..., points=...)``.
"""

from __future__ import annotations

import random
import sys

import pytest

from dlcourse.course import Course
from dlcourse.errors import GradeFailure, ProbeError


def student_message(excinfo) -> str:
    """What the student sees for a failed test: never the grader's code or expected values."""
    exc = excinfo.value
    if isinstance(exc, (GradeFailure, ProbeError)):
        return str(exc)[:1000]
    return f"the hidden test could not check your answer ({type(exc).__name__})"


def describe(item, marker) -> str:
    """What a test checks, for students: ``@grade(describe=...)``, else its docstring's first line."""
    text = marker.kwargs.get("describe") or (getattr(item, "function", None).__doc__ or "")
    return text.strip().splitlines()[0] if text.strip() else ""


SUBMISSION = pytest.StashKey["Submission"]()


@pytest.fixture(scope="session")
def nb(request):
    """The submission, reachable only through ``nb.call(probe, **inputs)``."""
    return request.config.stash[SUBMISSION]


@pytest.fixture
def seed():
    """A seed picked at run time; graders must hold for every seed."""
    return random.SystemRandom().randrange(2**31)


class JudgePlugin:
    """pytest plugin: provides the fixtures above, and one result per test."""

    def __init__(self, submission: Submission | None):
        self.submission = submission
        self.results: dict[str, dict] = {}
        self.items: list[dict] = []

    def pytest_configure(self, config):
        config.stash[SUBMISSION] = self.submission
        config.addinivalue_line("markers", "grade(cell, points): the grade cell a test counts toward")

    def pytest_collection_modifyitems(self, items):
        for item in items:
            marker = item.get_closest_marker("grade")
            if marker is None or "cell" not in marker.kwargs or "points" not in marker.kwargs:
                raise pytest.UsageError(f"{item.nodeid} has no @grade(cell=..., points=...)")
            self.items.append({"name": item.nodeid.split("::", 1)[-1],
                               "file": item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1],
                               "cell": marker.kwargs["cell"], "max_points": float(marker.kwargs["points"]),
                               "description": describe(item, marker), "hint": marker.kwargs.get("hint", "")})

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        name = item.nodeid.split("::", 1)[-1]
        entry = self.results.setdefault(name, {"passed": True, "message": ""})
        if report.failed and entry["passed"]:
            entry["passed"] = False
            entry["message"] = student_message(call.excinfo) if call.excinfo else "the test failed"
        elif report.skipped and entry["passed"]:
            entry["passed"] = False
            entry["message"] = "skipped"
        if report.when == "call":  # numbers a grader measured (record_property), e.g. accuracy
            entry.setdefault("metrics", {}).update(
                {str(k): float(v) for k, v in report.user_properties if isinstance(v, (int, float))})

    def tests(self) -> list[dict]:
        out = []
        for item in self.items:
            result = self.results.get(item["name"], {"passed": False, "message": "the test did not run"})
            passed = bool(result["passed"])
            out.append({"name": item["name"], "cell": item["cell"],
                        "points": item["max_points"] if passed else 0.0,
                        "max_points": item["max_points"], "passed": passed,
                        "message": "" if passed else result["message"],
                        "description": item["description"], "hint": item["hint"],
                        "metrics": result.get("metrics", {})})
        return out


def graders_argv(course: Course, assignment: str, *extra: str) -> list[str]:
    # no cache folder in the course; no unraisable-exception plugin, whose two full garbage
    # collections at exit cost a third of a second once torch is loaded
    return [str(course.graders(assignment)), "-q", "-p", "no:cacheprovider", "-p", "no:unraisableexception",
            "--no-header",
            "-c", str(course.autograder / "pytest.ini"), "--rootdir", str(course.autograder), *extra]


def list_tests(course: Course, assignment: str) -> list[dict]:
    """The graders of an assignment with their cells and points, without running them."""
    plugin = JudgePlugin(None)
    code = pytest.main(graders_argv(course, assignment, "--collect-only"), plugins=[plugin, sys.modules[__name__]])
    if code not in (0, 5):
        raise RuntimeError(f"collecting the graders of {assignment} failed (pytest exit {code})")
    return plugin.items


def run_graders(course: Course, assignment: str, submission) -> dict:
    """Run the hidden graders against a started submission; return the judge's result."""
    plugin = JudgePlugin(submission)
    try:
        pytest.main(graders_argv(course, assignment), plugins=[plugin, sys.modules[__name__]])
    finally:
        submission.close()
    return {"tests": plugin.tests(), "execution": submission.execution, "error": submission.error,
            "restarts": submission.restarts}
