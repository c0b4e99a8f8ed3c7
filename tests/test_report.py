"""The class report, on a hand-built class whose every number is known."""

from __future__ import annotations

import csv
import datetime
import json
import math

import numpy as np
import pytest

from conftest import dlcourse
from dlcourse import gradebook, report
from test_exports import hand_built_gradebook

A = "01_logistic_regression"
DUE = datetime.datetime(2026, 1, 10, 12, 0)
# test: (grade cell, points); students' verdicts in the order s1..s4
TESTS = {
    "test_t1": ("test_logistic_regression", 1),
    "test_t2": ("test_logistic_regression", 1),
    "test_t3": ("test_binary_cross_entropy", 2),
    "test_t4": ("test_gradient", 1),
    "test_t5": ("test_gradient", 1),
}
PASSED = {
    "s1": [1, 1, 1, 0, 1],
    "s2": [1, 1, 0, 0, 1],
    "s3": [1, 0, 0, 1, 1],
    "s4": [0, 0, 0, 1, 1],
}
TOTALS = {"s1": 5, "s2": 3, "s3": 3, "s4": 2}
EVIL = "<script>document.title='pwned'</script>\x1b[31mred"
MESSAGES = {
    ("s2", "test_t3"): "the loss is off by a factor of 2",
    ("s3", "test_t3"): "the loss is off by a factor of 2",
    ("s4", "test_t3"): "got nan",
    ("s3", "test_t2"): EVIL,
    ("s4", "test_t2"): EVIL,
    ("s1", "test_t4"): "wrong sign",
    ("s2", "test_t4"): "wrong sign",
}
EXECUTION = {
    "s1": [(1.0, "imports"), (70.0, "training")],  # slowest cell 70 s > 60 (half of 120)
    "s2": [(16.0, f"c{i}") for i in range(10)],  # notebook 160 s > 150 (half of 300)
    "s3": [(2.0, "imports"), (3.0, "training")],
    "s4": [],
}
STAMPS = {"s1": "2026-01-10 11:00:00.000000 UTC", "s2": "2026-01-11 13:30:00.000000 UTC"}


@pytest.fixture(scope="module")
def hand_built_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    db = root / "grading" / "gradebook.db"
    db.parent.mkdir()
    cells = {}
    for cell, points in TESTS.values():
        cells[cell] = cells.get(cell, 0) + points
    hand_built_gradebook(db, {A: cells}, due={A: DUE})
    for student, verdicts in PASSED.items():
        rows, scores = [], {}
        for (name, (cell, points)), ok in zip(TESTS.items(), verdicts):
            rows.append(
                {
                    "name": name,
                    "cell": cell,
                    "points": float(points * ok),
                    "max_points": float(points),
                    "passed": bool(ok),
                    "message": MESSAGES.get((student, name), "") if not ok else "",
                    "description": f"checks {name[5:]}",
                    "hint": "",
                }
            )
            scores[cell] = scores.get(cell, 0) + points * ok
        gradebook.record(db, A, student, scores)
        record = {
            "assignment": A,
            "student": student,
            "score": float(sum(r["points"] for r in rows)),
            "max_score": 6.0,
            "tests": rows,
            "error": None,
            "execution": [
                {"index": i, "id": cid, "status": "ok", "error": None, "seconds": sec}
                for i, (sec, cid) in enumerate(EXECUTION[student])
            ],
        }
        path = root / "grading" / "results" / student / f"{A}.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(record))
        if student in STAMPS:
            stamp = root / "submitted" / student / A / "timestamp.txt"
            stamp.parent.mkdir(parents=True)
            stamp.write_text(STAMPS[student])
    return root


def test_point_biserial_known_values():
    # x = [1,1,1,0], rest = [3,1,0,1]: sum dx*dy = 1/4, sum dx^2 = 3/4, sum dy^2 = 19/4
    assert report.point_biserial([True, True, True, False], [3, 1, 0, 1]) == pytest.approx(
        0.25 / math.sqrt(0.75 * 4.75)
    )
    assert report.point_biserial([True, True], [1, 2]) is None  # everyone passed
    assert report.point_biserial([True, False], [1, 1]) is None  # constant rest


@pytest.mark.slow
def test_report_numbers_match_the_hand_built_class(hand_built_class, course):
    root = hand_built_class
    data = report.analyse(
        course,
        A,
        root / "grading" / "gradebook.db",
        root / "grading" / "results",
        root / "submitted",
    )
    assert data["scores"] == TOTALS and data["possible"] == 6
    by_name = {t["name"]: t for t in data["tests"]}
    assert {n: t["pass_rate"] for n, t in by_name.items()} == {
        "test_t1": 0.75,
        "test_t2": 0.5,
        "test_t3": 0.25,
        "test_t4": 0.5,
        "test_t5": 1.0,
    }
    assert [t["name"] for t in data["tests"]] == [
        "test_t3",
        "test_t2",
        "test_t4",
        "test_t1",
        "test_t5",
    ]
    # rest scores (total minus the test's own points): t3: s1 3, s2 3, s3 3, s4 2 → x=[1,0,0,0]
    # mean x 1/4, mean rest 11/4; sum dx*dy = 3/4*1/4 - 1/4*(1/4+1/4-3/4) = 1/4; sum dx^2 = 3/4;
    # sum dy^2 = 3*(1/16) + 9/16 = 3/4: r = (1/4) / (3/4) = 1/3
    assert by_name["test_t3"]["discrimination"] == pytest.approx(1 / 3)
    # t4 is passed by the two weakest students: rest = [5,3,2,1], x = [0,0,1,1] → r < 0, flagged
    rest = [5, 3, 2, 1]
    assert by_name["test_t4"]["discrimination"] == pytest.approx(
        np.corrcoef([0, 0, 1, 1], rest)[0, 1]
    )
    assert by_name["test_t4"]["discrimination"] < -0.8 and by_name["test_t4"]["flag"].startswith(
        "suspect"
    )
    assert by_name["test_t5"]["discrimination"] is None and "everyone" in by_name["test_t5"]["flag"]
    assert by_name["test_t1"]["exercise"].startswith("Exercise 1")
    assert data["failures"][:2] == [
        (("test_t3", "the loss is off by a factor of 2"), 2),
        (("test_t2", EVIL), 2),
    ] or data["failures"][:2] == [
        (("test_t2", EVIL), 2),
        (("test_t3", "the loss is off by a factor of 2"), 2),
    ]
    assert data["close"] == ["s2", "s1"]
    assert data["times"]["s1"]["cell"] == 70 and data["times"]["s2"]["notebook"] == 160
    late = dict(data["late"])
    assert "s1" not in late and late["s2"] == datetime.timedelta(days=1, hours=1, minutes=30)
    assert {"s3", "s4"} <= set(late)  # no timestamp.txt: the gradebook's (grading) time, after DUE


@pytest.mark.slow
def test_report_command_writes_html_and_csv(hand_built_class):
    root = hand_built_class
    out = root / "report"
    dlcourse(
        "report",
        A,
        "--gradebook",
        str(root / "grading" / "gradebook.db"),
        "--submitted",
        str(root),
        "--out",
        str(out),
    )
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3
    assert (
        "<script>" not in html
        and "\x1b" not in html
        and "&lt;script&gt;" in html
        and "\\x1b" in html
    )
    tests = list(csv.DictReader((out / "tests.csv").open()))
    assert [r["test"] for r in tests][0] == "test_t3" and tests[0]["pass_rate"] == "0.2500"
    assert tests[0]["discrimination"] == "0.3333"
    students = {r["student"]: r for r in csv.DictReader((out / "students.csv").open())}
    assert students["s2"]["late_by"] == "1 day, 1:30:00" and students["s1"]["late_by"] == ""
    assert students["s1"]["score"] == "5" and students["s2"]["notebook_seconds"] == "160.0"
