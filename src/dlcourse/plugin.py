"""The pytest side of the judge: fixtures for graders, and one result per hidden test.

Graders get two fixtures: ``nb`` (the :class:`dlcourse.judge.Submission`, reachable only
through ``nb.call``) and ``seed`` (picked at run time, derived per test from one base seed,
and recorded, so a grade can be replayed). Every test must carry
``@grade(cell=..., points=...)``.

A test fails as the student's (a :class:`GradeFailure` or :class:`ProbeError`, with a message
written for them) or as ours: any other exception is a grader bug, reported to the student
as a problem on our side and kept, with its traceback, for the instructor.
"""

from __future__ import annotations

import hashlib
import random
import sys
import traceback

import pytest

from dlcourse.course import Course
from dlcourse.errors import GradeFailure, GraderError, ProbeError
from dlcourse.text import MESSAGE_CHARS, clean

OUR_PROBLEM = "grading problem on our side, not in your notebook; your instructor was told"


def student_message(excinfo) -> str:
    """What the student sees for a failed test: never the grader's code or expected values."""
    exc = excinfo.value
    if isinstance(exc, (GradeFailure, ProbeError)) and not isinstance(exc, GraderError):
        return clean(str(exc), MESSAGE_CHARS)
    return OUR_PROBLEM


def is_grader_error(excinfo) -> bool:
    return not isinstance(excinfo.value, (GradeFailure, ProbeError)) or isinstance(
        excinfo.value, GraderError
    )


def describe(item, marker) -> str:
    """What a test checks, for students: ``@grade(describe=...)``, else its docstring's first line."""
    text = marker.kwargs.get("describe") or (getattr(item, "function", None).__doc__ or "")
    return text.strip().splitlines()[0] if text.strip() else ""


def derive_seed(base: int, test: str) -> int:
    """A test's seed from the run's base seed and the test's name (the same on every machine)."""
    digest = hashlib.sha256(f"{base}:{test}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1


SUBMISSION = pytest.StashKey["Submission"]()
PLUGIN = pytest.StashKey["JudgePlugin"]()


@pytest.fixture(scope="session")
def nb(request):
    """The submission, reachable only through ``nb.call(probe, **inputs)``."""
    return request.config.stash[SUBMISSION]


@pytest.fixture
def seed(request):
    """A seed picked at run time (recorded in the result); graders must hold for every seed."""
    return request.config.stash[PLUGIN].seed_for(request.node.nodeid.split("::", 1)[-1])


@pytest.fixture(scope="module")
def module_seed(request):
    """A seed for module-scoped fixtures (work shared by several tests), recorded like ``seed``."""
    return request.config.stash[PLUGIN].seed_for(f"{request.module.__name__}::module")


class JudgePlugin:
    """pytest plugin: provides the fixtures above, and one result per test."""

    def __init__(self, submission, seed: int | None = None, seeds: dict | None = None):
        self.submission = submission
        self.base_seed = random.SystemRandom().randrange(2**31) if seed is None else int(seed)
        self.replay = {str(k): int(v) for k, v in (seeds or {}).items()}
        self.seeds: dict[str, int] = {}
        self.results: dict[str, dict] = {}
        self.items: list[dict] = []
        self.grader_errors: list[dict] = []

    def seed_for(self, name: str) -> int:
        if name not in self.seeds:
            self.seeds[name] = self.replay.get(name, derive_seed(self.base_seed, name))
        return self.seeds[name]

    def pytest_configure(self, config):
        config.stash[SUBMISSION] = self.submission
        config.stash[PLUGIN] = self
        config.addinivalue_line(
            "markers", "grade(cell, points): the grade cell a test counts toward"
        )

    def pytest_collection_modifyitems(self, items):
        for item in items:
            marker = item.get_closest_marker("grade")
            if marker is None or "cell" not in marker.kwargs or "points" not in marker.kwargs:
                raise pytest.UsageError(f"{item.nodeid} has no @grade(cell=..., points=...)")
            self.items.append(
                {
                    "name": item.nodeid.split("::", 1)[-1],
                    "file": item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1],
                    "cell": marker.kwargs["cell"],
                    "max_points": float(marker.kwargs["points"]),
                    "description": describe(item, marker),
                    "hint": marker.kwargs.get("hint", ""),
                }
            )

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        """The running test's seed, for helpers that draw data without the fixture (the hidden
        test set): derived from the test's recorded seed, so a replay draws the same."""
        from dlcourse import checks

        checks.RUN["seed"] = derive_seed(self.seed_for(item.nodeid.split("::", 1)[-1]), "test set")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        name = item.nodeid.split("::", 1)[-1]
        entry = self.results.setdefault(name, {"passed": True, "message": ""})
        if report.failed and entry["passed"]:
            entry["passed"] = False
            if call.excinfo is None:
                entry["message"] = "the test failed"
            else:
                entry["message"] = student_message(call.excinfo)
                if is_grader_error(call.excinfo):
                    entry["grader_error"] = True
                    self.grader_errors.append(
                        {
                            "test": name,
                            "when": call.when,
                            "traceback": "".join(traceback.format_exception(call.excinfo.value))[
                                -20_000:
                            ],
                        }
                    )
        elif report.skipped and entry["passed"]:
            entry["passed"] = False
            entry["message"] = "skipped"
        if report.when == "call":  # numbers a grader measured (record_property), e.g. accuracy
            entry.setdefault("metrics", {}).update(
                {str(k): float(v) for k, v in report.user_properties if isinstance(v, (int, float))}
            )

    def tests(self) -> list[dict]:
        out = []
        for item in self.items:
            result = self.results.get(
                item["name"], {"passed": False, "message": "the test did not run"}
            )
            passed = bool(result["passed"])
            out.append(
                {
                    "name": item["name"],
                    "cell": item["cell"],
                    "points": item["max_points"] if passed else 0.0,
                    "max_points": item["max_points"],
                    "passed": passed,
                    "message": "" if passed else result["message"],
                    "description": item["description"],
                    "hint": item["hint"],
                    "seed": self.seeds.get(item["name"]),
                    "grader_error": bool(result.get("grader_error")),
                    "metrics": result.get("metrics", {}),
                }
            )
        return out


def graders_argv(course: Course, assignment: str, *extra: str) -> list[str]:
    # no cache folder in the course; no unraisable-exception plugin, whose two full garbage
    # collections at exit cost a third of a second once torch is loaded
    return [
        str(course.graders(assignment)),
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:unraisableexception",
        "--no-header",
        "--tb=no",
        "-c",
        str(course.autograder / "pytest.ini"),
        "--rootdir",
        str(course.autograder),
        *extra,
    ]


def list_tests(course: Course, assignment: str) -> list[dict]:
    """The graders of an assignment with their cells and points, without running them."""
    plugin = JudgePlugin(None)
    code = pytest.main(
        graders_argv(course, assignment, "--collect-only"), plugins=[plugin, sys.modules[__name__]]
    )
    if code not in (0, 5):
        raise RuntimeError(f"collecting the graders of {assignment} failed (pytest exit {code})")
    return plugin.items


def run_graders(
    course: Course, assignment: str, submission, seed: int | None = None, seeds: dict | None = None
) -> dict:
    """Run the hidden graders against a started submission; return the judge's result."""
    from dlcourse import checks, screening

    plugin = JudgePlugin(submission, seed, seeds)
    checks.start_run(course.graders(assignment), plugin.seed_for)  # flags; test-set seeds
    scanned = screening.scan(submission.cells)  # before a restart blanks a cell
    try:
        code = pytest.main(
            graders_argv(course, assignment), plugins=[plugin, sys.modules[__name__]]
        )
    finally:
        submission.close()
    if code not in (0, 1):  # 2: interrupted, 3: internal error, 4: usage error, 5: no tests
        raise RuntimeError(f"pytest could not run the graders of {assignment} (exit {code})")
    return {
        "tests": plugin.tests(),
        "execution": submission.execution,
        "error": submission.error,
        "restarts": submission.restarts,
        "seed": plugin.base_seed,
        "seeds": dict(plugin.seeds),
        "grader_errors": plugin.grader_errors,
        "flags": scanned + checks.flags(),
    }
