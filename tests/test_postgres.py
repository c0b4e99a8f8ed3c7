"""The gradebook on a real PostgreSQL server (Debian's `postgresql`, started here with
`initdb`/`pg_ctl` on a temporary folder and a loopback port): grades through nbgrader's models,
read back by `nbgrader export`; a grader killed mid-class and rerun leaves no duplicate and
nothing half-written; a unique-key collision with another writer is retried."""

from __future__ import annotations

import csv
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from conftest import ROOT, dlcourse, full_points, grade_json, submit
from dlcourse import demo, gradebook
from dlcourse.course import Course
from dlcourse.notebook import read

A = "01_logistic_regression"
BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server on 127.0.0.1 for this module; yields its SQLAlchemy URL."""
    if not BIN:
        pytest.skip("Debian's postgresql is not installed (scripts/setup.sh installs it)")
    bindir = Path(BIN[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="dlcourse-pg-"))  # not under pytest's 0700 tmp
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(
        _as_postgres(
            [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-l",
                str(folder / "log"),
                "-o",
                f"-p {port} -k {folder} -c listen_addresses=127.0.0.1",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        with psycopg.connect(
            f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE course")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/course"
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


def pg(url: str):
    return psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)


def rows(url: str) -> dict[str, tuple[int, int, int]]:
    """{student: (submissions, grades, grades with an auto score)} for the assignment."""
    with pg(url) as conn:
        found = conn.execute(
            "SELECT s.student_id, COUNT(DISTINCT s.id), COUNT(g.id), COUNT(g.auto_score) "
            "FROM submitted_assignment s JOIN assignment a ON s.assignment_id = a.id "
            "JOIN submitted_notebook n ON n.assignment_id = s.id "
            "JOIN grade g ON g.notebook_id = n.id "
            "WHERE a.name = %s GROUP BY s.student_id",
            (A,),
        ).fetchall()
    return {student: (subs, grades, scored) for student, subs, grades, scored in found}


def klass(folder: Path, n_solutions: int = 1) -> Path:
    course = Course(ROOT)
    for i in range(n_solutions):
        submit(folder, f"sol{i}", A, read(course.solution_notebook(A)))
    submit(folder, "release", A, read(course.release_notebook(A)))
    submit(folder, "partial", A, demo.partial(course, A))
    return folder


@pytest.mark.slow
def test_class_into_postgres_read_back_by_nbgrader_export(postgres, tmp_path):
    results = grade_json(
        A, klass(tmp_path / "class"), tmp_path / "out", "--workers", "2", "--db", postgres
    )
    scores = sorted(r["score"] for r in results)
    assert scores[0] == 0 and 0 < scores[1] < scores[2] == full_points(A)
    assert not (tmp_path / "out" / "gradebook.db").exists()  # the grades went to PostgreSQL
    csv_path = tmp_path / "grades.csv"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "export",
            f"--CourseDirectory.root={ROOT}",
            f"--CourseDirectory.db_url={postgres}",
            "--to",
            str(csv_path),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    exported = {r["student_id"]: r for r in csv.DictReader(csv_path.open()) if r["assignment"] == A}
    for result in results:
        assert float(exported[result["student"]]["score"]) == result["score"]
        assert float(exported[result["student"]]["max_score"]) == full_points(A)
    # the course's rows were synced as into the SQLite copy: same assignments, cells, points
    with gradebook.open_gradebook(postgres) as gb:
        synced = sorted(
            (a.name, n.name, c.name, c.max_score)
            for a in gb.assignments
            for n in a.notebooks
            for c in n.grade_cells
        )
    with gradebook.open_gradebook(ROOT / "gradebook.db") as gb:
        course = sorted(
            (a.name, n.name, c.name, c.max_score)
            for a in gb.assignments
            for n in a.notebooks
            for c in n.grade_cells
        )
    assert synced == course


@pytest.mark.slow
def test_killed_mid_class_then_rerun_no_duplicates_nothing_half_written(postgres, tmp_path):
    folder = klass(tmp_path / "class", n_solutions=3)
    with pg(postgres) as conn:  # a fresh assignment state: other tests used the same database
        conn.execute(
            "DELETE FROM grade; DELETE FROM comment; DELETE FROM submitted_notebook; "
            "DELETE FROM submitted_assignment"
        )
    cmd = [
        sys.executable,
        "-m",
        "dlcourse",
        "--course",
        str(ROOT),
        "grade",
        A,
        str(folder),
        "--out",
        str(tmp_path / "out"),
        "--db",
        postgres,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not rows(postgres) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = rows(postgres)
    assert 1 <= len(first) < 5, "killed after a first grade and before the last"
    assert all(subs == 1 and grades == scored for subs, grades, scored in first.values())
    done = dlcourse(
        "grade", A, str(folder), "--out", str(tmp_path / "out"), "--db", postgres, "--workers", "2"
    )
    assert "sol0" in done.stdout
    final = rows(postgres)
    assert set(final) == {"sol0", "sol1", "sol2", "release", "partial"}
    assert all(subs == 1 and grades == scored > 0 for subs, grades, scored in final.values())


@pytest.mark.slow
def test_a_unique_key_collision_with_another_writer_is_retried(postgres, tmp_path):
    """Formgrader creates the student while `dlcourse grade` does: ours waits, fails, retries."""
    gradebook.working_gradebook(ROOT / "gradebook.db", postgres)
    scores = gradebook.max_scores(postgres, A)
    other = pg(postgres)
    other.autocommit = False
    other.execute("INSERT INTO student (id) VALUES ('racer')")  # not yet committed
    errors = []

    def ours():
        try:
            gradebook.record(postgres, A, "racer", scores)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=ours)
    thread.start()
    deadline = time.monotonic() + 30
    with pg(postgres) as watch:  # ours is blocked on the other transaction's unique key
        while (
            time.monotonic() < deadline
            and not watch.execute("SELECT 1 FROM pg_locks WHERE NOT granted").fetchone()
        ):
            time.sleep(0.05)
    assert thread.is_alive(), "the insert should wait on the other writer's key"
    other.commit()  # ours now fails with a unique violation, rolls back, and retries
    other.close()
    thread.join(60)
    assert not errors, errors
    assert rows(postgres)["racer"] == (1, len(scores), len(scores))
    with gradebook.open_gradebook(postgres) as gb:
        assert gb.find_submission(A, "racer").score == sum(scores.values())
