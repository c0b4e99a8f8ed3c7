"""The CI guard `python -m dlcourse.isolation_check`: a grade with less isolation fails the job."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, dlcourse


def _record(student: str, isolation: str | None) -> dict:
    record = {"assignment": "01_logistic_regression", "student": student, "score": 1.0, "tests": []}
    if isolation is not None:
        record["grader"] = {"isolation": isolation}
    return record


def _check(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dlcourse.isolation_check", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def _save(folder, student, record):
    path = folder / "results" / student / "01_logistic_regression.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_passes_only_when_every_record_ran_under_bwrap(tmp_path):
    for student in ("ann", "bob"):
        _save(tmp_path, student, _record(student, "bwrap"))
    done = _check("--expect", "bwrap", tmp_path / "results")
    assert done.returncode == 0 and "all 2 grading results" in done.stdout
    _save(tmp_path, "cy", _record("cy", "rlimits"))
    _save(tmp_path, "dee", _record("dee", None))
    done = _check("--expect", "bwrap", tmp_path / "results")
    assert done.returncode == 1
    errors = [line for line in done.stdout.splitlines() if line.startswith("::error::")]
    assert len(errors) == 2
    assert "cy/01_logistic_regression was graded with isolation 'rlimits'" in done.stdout
    assert "dee/01_logistic_regression was graded with no isolation recorded" in done.stdout


def test_reads_json_output_lists_and_fails_without_results(tmp_path):
    listing = tmp_path / "class.json"  # `dlcourse grade <folder> --json` prints a list
    listing.write_text(json.dumps([_record("ann", "bwrap"), _record("bob", "rlimits")]))
    done = _check(listing)
    assert done.returncode == 1 and "bob" in done.stdout and "ann/" not in done.stdout
    (tmp_path / "empty").mkdir()
    done = _check("--expect", "rlimits", tmp_path / "empty")
    assert done.returncode == 1 and "no grading results were found" in done.stdout
    (tmp_path / "broken.json").write_text("{")
    assert _check(tmp_path / "broken.json").returncode == 1


@pytest.mark.slow
def test_real_grading_records_pass_only_for_the_isolation_they_ran_under(tmp_path):
    from dlcourse import sandbox

    isolation = "bwrap" if sandbox.bwrap_works() else "rlimits"
    a = "01_logistic_regression"
    dlcourse(
        "grade",
        a,
        str(ROOT / "release" / a / f"{a}.ipynb"),
        "--student",
        "ann",
        "--isolation",
        isolation,
        "--json",
        "--out",
        str(tmp_path),
    )
    assert _check("--expect", isolation, tmp_path / "results").returncode == 0
    other = "rlimits" if isolation == "bwrap" else "bwrap"
    done = _check("--expect", other, tmp_path / "results")
    assert done.returncode == 1 and f"isolation '{isolation}', not '{other}'" in done.stdout
