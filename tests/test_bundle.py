"""The student package: built, scanned for anything of the graders, installed into a fresh
virtualenv offline, and `dlcourse check` run there with no course checkout anywhere."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import ROOT, dlcourse, full_points
from dlcourse import bundle
from dlcourse.course import Course

A = "01_logistic_regression"


@pytest.fixture(scope="module")
def student_bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "student"
    dlcourse("bundle", "student", str(out), "--classroom")
    return out


@pytest.mark.slow
def test_bundle_holds_what_students_need(student_bundle, course):
    files = {str(p.relative_to(student_bundle)) for p in student_bundle.rglob("*") if p.is_file()}
    for assignment in course.assignments():
        assert f"assignments/{assignment}/{assignment}.ipynb" in files
        released = course.release_notebook(assignment).read_bytes()
        assert (
            student_bundle / "assignments" / assignment / f"{assignment}.ipynb"
        ).read_bytes() == released
    assert {
        "README.md",
        "pyproject.toml",
        "src/dlcourse/course.json",
        "src/dlcourse/selfcheck.py",
        "src/dlcourse/data.py",
        "classroom/.github/workflows/classroom.yml",
    } <= files
    assert len([f for f in files if f.startswith("dist/") and f.endswith(".whl")]) == 1
    assert "dlcourse check --all" in (student_bundle / "README.md").read_text()


@pytest.mark.slow
def test_bundle_has_no_graders_solutions_probes_or_test_split(student_bundle, course):
    assert bundle.audit(course, student_bundle) == []
    # independently of the audit: no course-only file and no hidden test's name anywhere
    files = [p for p in student_bundle.rglob("*") if p.is_file()]
    assert not [p for p in files if re.match(r"(test_.*|probes)\.py$", p.name)]
    assert not [p for p in files if {"autograder", "source", "solutions"} & set(p.parts)]
    release = "".join(course.release_notebook(a).read_text() for a in course.assignments())
    hidden = {
        n
        for a in course.assignments()
        for p in course.graders(a).glob("test_*.py")
        for n in re.findall(r"^def (test_\w+)", p.read_text(), re.MULTILINE)
        if n not in release
    }
    assert len(hidden) > 50
    text = "".join(p.read_text(errors="replace") for p in files if p.suffix != ".whl")
    assert not [n for n in hidden if n in text]


@pytest.mark.slow
def test_the_audit_catches_each_kind_of_leak(student_bundle, course, tmp_path):
    """The scan is not vacuous: plant one secret of each kind and it names all of them."""
    secret = bundle.secrets(course)
    planted = tmp_path / "planted"
    shutil.copytree(student_bundle, planted)
    notes = planted / "notes.md"
    notes.write_text(
        "\n".join(
            [
                sorted(secret["solution line"])[0],
                sorted(secret["grader line"])[0],
                f"call {sorted(secret['probe or test name'])[0]}(nb)",
            ]
        )
    )
    (planted / "labels.bin").write_bytes(b"x" + next(iter(secret["test-split labels"])) + b"y")
    (planted / "autograder").mkdir()
    (planted / "autograder" / "limits.toml").write_text("[limits]\n")
    found = "\n".join(bundle.audit(course, planted))
    for kind in (
        "solution line",
        "grader line",
        "probe or test name",
        "test-split labels",
        "course-only folder",
    ):
        assert kind in found, kind
    with pytest.raises(FileExistsError):
        bundle.write(course, planted)


def _clean_env() -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "DLCOURSE_ROOT", "VIRTUAL_ENV", "PYTHONHOME")
    }
    return env


@pytest.mark.slow
def test_check_works_from_the_installed_bundle_without_a_checkout(student_bundle, tmp_path, course):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=_clean_env())
    (wheel,) = (student_bundle / "dist").glob("*.whl")
    subprocess.run(
        [venv / "bin" / "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)],
        check=True,
        env=_clean_env(),
    )
    # torch & co. from the shared virtualenv (offline): a plain path in a .pth adds that folder
    # after the new venv's own site-packages, and does not run its .pth files (the shared venv's
    # editable install of the course), so `dlcourse` is the installed wheel
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "shared-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    home = tmp_path / "home"  # outside any checkout, no course anywhere above it
    home.mkdir()
    python = venv / "bin" / "python"
    where = subprocess.run(
        [python, "-c", "import dlcourse; print(dlcourse.__file__)"],
        cwd=home,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(site)), where
    shutil.copy(student_bundle / "assignments" / A / f"{A}.ipynb", home / f"{A}.ipynb")
    solved = home / "mine" / f"{A}.ipynb"
    solved.parent.mkdir()
    shutil.copy(ROOT / "solutions" / A / f"{A}.ipynb", solved)

    def check(*args):
        # rlimits: the shared venv's torch lies outside what the sandbox binds for this venv;
        # a student's own venv holds torch itself and gets bubblewrap where it works
        return subprocess.run(
            [venv / "bin" / "dlcourse", "check", *args, "--isolation", "rlimits"],
            cwd=home,
            env=_clean_env(),
            capture_output=True,
            text=True,
        )

    limit = f"grading limit {Course(ROOT).limits(A).notebook_seconds:g} s"
    untouched = check(f"{A}.ipynb")
    assert untouched.returncode == 1, untouched.stderr
    assert limit in untouched.stdout
    assert untouched.stdout.count("not started") == len(
        bundle.catalog.describe(course, A)["exercises"]
    )
    done = check(str(solved))
    assert done.returncode == 0, done.stdout + done.stderr
    exercises = len(bundle.catalog.describe(course, A)["exercises"])
    assert done.stdout.count(": done") == exercises and limit in done.stdout
    full = f"{full_points(A):g}"
    assert f"Points within reach: {full} of {full}" in done.stdout
    overview = check("--all", str(home / "mine"))
    assert f"{full} / {full}" in overview.stdout and "no notebook found" in overview.stdout
    instructor = subprocess.run(
        [venv / "bin" / "dlcourse", "grade", A, str(solved)],
        cwd=home,
        env=_clean_env(),
        capture_output=True,
        text=True,
    )
    assert instructor.returncode != 0 and "No such command" in instructor.stderr
