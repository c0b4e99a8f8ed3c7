"""Submission times and deadlines: a submission's time is when it was handed in (nbgrader's
`timestamp.txt`, else the file's time), late ones lose what assignment.toml's rule says, an
extension in the gradebook moves one student's due date, and regrading keeps the times."""

from __future__ import annotations

import csv
import datetime
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, full_points, submit
from dlcourse import deadlines, gradebook
from dlcourse.course import Course
from dlcourse.notebook import read

A = "01_logistic_regression"
DUE = datetime.datetime(2026, 11, 30, 23, 59)
H = datetime.timedelta(hours=1)
LATE = DUE + 2 * H + datetime.timedelta(minutes=13)


# --- the rule itself ------------------------------------------------------------------


def test_penalty_per_started_hour_capped_and_never_more_than_the_score():
    rule = deadlines.Rule(due=DUE, per="hour", percent=5, cap_percent=50)
    assert rule.penalty(0, 16, 16) == 0
    assert rule.penalty(1, 16, 16) == pytest.approx(0.8)  # one started hour
    assert rule.penalty(3600 * 2 + 13 * 60, 16, 16) == pytest.approx(2.4)  # three started hours
    assert rule.penalty(86400 * 3, 16, 16) == pytest.approx(8)  # capped at half
    assert rule.penalty(86400 * 3, 3, 16) == pytest.approx(3)  # never below zero points
    points = deadlines.Rule(due=DUE, per="day", points=2, cap_points=5)
    assert [points.penalty(s * 86400 - 1, 16, 16) for s in (1, 2, 3, 4)] == [2, 4, 5, 5]
    assert deadlines.Rule(due=DUE).penalty(86400, 16, 16) == 0  # a due date without a rule


def test_describe_says_how_late_and_what_it_cost():
    text = deadlines.describe(2 * 3600 + 13 * 60, 1.6, 16)
    assert text == "late by 2 h 13 min: \u221210 % (1.6 points)"
    assert deadlines.describe(86400 + 59, 0, 16) == "late by 1 d 1 min"


def test_submitted_at_reads_timestamp_txt_else_the_file_time(tmp_path):
    nb = tmp_path / "a.ipynb"
    nb.write_text("{}")
    os.utime(nb, (1_700_000_000, 1_700_000_000))
    assert deadlines.submitted_at(nb) == datetime.datetime(2023, 11, 14, 22, 13, 20)
    (tmp_path / "timestamp.txt").write_text("2026-11-30 21:00:00.123456 UTC\n")  # nbgrader's format
    assert deadlines.submitted_at(nb) == datetime.datetime(2026, 11, 30, 21, 0, 0, 123456)
    (tmp_path / "timestamp.txt").write_text("2026-12-01 09:00:00 Europe/Berlin")
    assert deadlines.submitted_at(nb) == datetime.datetime(2026, 12, 1, 8, 0)
    (tmp_path / "timestamp.txt").write_text("not a time")  # a student's garbage: the file's time
    assert deadlines.submitted_at(nb) == datetime.datetime(2023, 11, 14, 22, 13, 20)


def test_rule_from_assignment_toml(tmp_path):
    toml = tmp_path / "assignment.toml"
    toml.write_text('[deadline]\ndue = 2026-11-30T23:59:00+01:00\nper = "day"\npercent = 10\n')
    rule = deadlines.rule(toml)
    assert rule.due == datetime.datetime(2026, 11, 30, 22, 59) and rule.per == "day"
    toml.write_text('[deadline]\ndue = 2026-11-30T23:59:00Z\nper = "week"\n')
    with pytest.raises(ValueError, match="per"):
        deadlines.rule(toml)
    assert deadlines.rule(tmp_path / "missing.toml") == deadlines.Rule()


# --- a class with a deadline ----------------------------------------------------------


def stamp(folder, student, when: datetime.datetime):
    path = folder / "submitted" / student / A / "timestamp.txt"
    path.write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))


@pytest.fixture(scope="module")
def late_class(tmp_path_factory):
    """A course copy due DUE (5 % per started hour, at most 50 %) and six submissions."""
    tmp = tmp_path_factory.mktemp("deadlines")
    root = tmp / "course"
    root.mkdir()
    for name in ("source", "autograder"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("gradebook.db", "nbgrader_config.py"):
        shutil.copy(ROOT / name, root / name)
    toml = root / "autograder" / A / "assignment.toml"
    toml.write_text(
        toml.read_text() + '\n[deadline]\ndue = 2026-11-30T23:59:00Z\nper = "hour"\n'
        "percent = 5\ncap_percent = 50\n"
    )
    course = Course(ROOT)
    folder = tmp / "class"
    solution, release = read(course.solution_notebook(A)), read(course.release_notebook(A))
    for student in ("on_time", "late", "very_late", "extended", "no_stamp"):
        submit(folder, student, A, solution)
    submit(folder, "late_release", A, release)
    stamp(folder, "on_time", DUE - H)
    stamp(folder, "late", LATE)
    stamp(folder, "very_late", DUE + 72 * H)
    stamp(folder, "extended", DUE + 30 * H)
    stamp(folder, "late_release", DUE + 5 * H)
    nb = folder / "submitted" / "no_stamp" / A / f"{A}.ipynb"
    before = (DUE - 2 * H).replace(tzinfo=datetime.UTC).timestamp()
    os.utime(nb, (before, before))
    out = tmp / "out"
    run = [sys.executable, "-m", "dlcourse", "--course", str(root)]
    subprocess.run(
        [*run, "extend", A, "extended", "--hours", "48", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [*run, "grade", A, str(folder), "--out", str(out), "--workers", "2"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {"root": root, "folder": folder, "out": out, "table": done.stdout, "run": run}


def result(late_class, student):
    import json

    return json.loads((late_class["out"] / "results" / student / f"{A}.json").read_text())


@pytest.mark.slow
def test_late_submissions_lose_points_on_time_ones_do_not(late_class):
    scores = {
        s: result(late_class, s)["score"]
        for s in ("on_time", "late", "very_late", "extended", "no_stamp", "late_release")
    }
    full = full_points(A)  # 5 % per started hour, capped at 50 %
    assert scores == {
        "on_time": full,
        "late": pytest.approx(full * 0.85),
        "very_late": pytest.approx(full / 2),
        "extended": full,
        "no_stamp": full,
        "late_release": 0,
    }
    late = result(late_class, "late")
    assert late["raw_score"] == full and late["late"]["penalty"] == pytest.approx(0.15 * full)
    assert late["late"]["text"] == f"late by 2 h 13 min: \u221215 % ({0.15 * full:g} points)"
    assert late["submitted"] == "2026-12-01T02:12:00" and late["due"] == "2026-11-30T23:59:00"
    assert result(late_class, "extended")["due"] == "2026-12-02T23:59:00"
    assert result(late_class, "on_time")["late"] is None
    assert "late by 2 h 13 min" in late_class["table"]
    html = (late_class["out"] / "feedback" / "late" / A / "feedback.html").read_text()
    assert "late by 2 h 13 min: \u221215 %" in html


@pytest.mark.slow
def test_nbgrader_sees_times_extension_and_penalties(late_class, tmp_path):
    url = gradebook.url_of(late_class["out"] / "gradebook.db")
    with gradebook.open_gradebook(url) as gb:
        assert gb.find_assignment(A).duedate == DUE
        extended = gb.find_submission(A, "extended")
        assert extended.extension == 48 * H and extended.total_seconds_late == 0
        assert gb.find_submission(A, "late").timestamp == LATE
    csv_path = tmp_path / "grades.csv"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "export",
            f"--CourseDirectory.root={late_class['root']}",
            f"--CourseDirectory.db_url={url}",
            "--to",
            str(csv_path),
        ],
        check=True,
        capture_output=True,
        cwd=late_class["root"],
    )
    rows = {r["student_id"]: r for r in csv.DictReader(csv_path.open()) if r["assignment"] == A}
    full = full_points(A)
    assert float(rows["late"]["raw_score"]) == full
    assert float(rows["late"]["late_submission_penalty"]) == pytest.approx(0.15 * full)
    assert float(rows["late"]["score"]) == pytest.approx(0.85 * full)
    assert float(rows["very_late"]["score"]) == pytest.approx(full / 2)
    assert float(rows["on_time"]["score"]) == full


@pytest.mark.slow
def test_regrading_keeps_the_hand_in_times(late_class):
    before = result(late_class, "late")
    nb = late_class["folder"] / "submitted" / "late" / A / f"{A}.ipynb"
    os.utime(nb)  # touched now: the hand-in time is still timestamp.txt's
    done = subprocess.run(
        [
            *late_class["run"],
            "grade",
            A,
            str(nb),
            "--student",
            "late",
            "--out",
            str(late_class["out"]),
            "--force",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    after = result(late_class, "late")
    assert after["submitted"] == before["submitted"] and after["score"] == before["score"]
    with gradebook.open_gradebook(late_class["out"] / "gradebook.db") as gb:
        assert gb.find_submission(A, "late").timestamp == LATE


def test_extend_without_a_due_date_records_the_extension(tmp_path):
    """`dlcourse extend` on a student not yet graded: the extension row does not count as graded."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dlcourse",
            "--course",
            str(ROOT),
            "extend",
            A,
            "zoe",
            "--days",
            "2",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    with gradebook.open_gradebook(tmp_path / "gradebook.db") as gb:
        assert gb.find_submission(A, "zoe").extension == 48 * H
    assert gradebook.graded_students(tmp_path / "gradebook.db", A) == set()
