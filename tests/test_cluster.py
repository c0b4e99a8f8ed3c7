"""Grading on a real Dask cluster on 127.0.0.1: a `dask scheduler` and two `dask worker`
processes (one labelled `--resources GPU=1`), driven through `dlcourse grade --scheduler`.

The workers read their graders from their own course root ($DLCOURSE_ROOT, a copy of this
course), never from the client's files; the client is the only writer of the gradebook.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from conftest import ROOT, full_points, submit
from dlcourse import demo
from dlcourse.course import Course
from dlcourse.notebook import read

pytestmark = pytest.mark.slow
A = "01_logistic_regression"
FULL = full_points(A)
PARTIAL = "partial"  # half the exercises solved: strictly between 0 and full marks
EXPECTED = {"sol_a": FULL, "sol_b": FULL, "rel_a": 0, "rel_b": 0, "partial": PARTIAL, "broken": 0}


def _matches(score: float, expected) -> bool:
    return 0 < score < FULL if expected == PARTIAL else score == expected


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def course_copy(folder: Path) -> Path:
    """What a worker machine has of the course: its graders, sources, gradebook, settings."""
    folder.mkdir(parents=True)
    for name in ("source", "autograder"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("gradebook.db", "nbgrader_config.py"):
        shutil.copy(ROOT / name, folder / name)
    return folder


def until(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"not within {seconds} s: {what}")


class Cluster:
    def __init__(self, tmp: Path):
        self.root = course_copy(tmp / "course")
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.env = {
            **os.environ,
            "DLCOURSE_ROOT": str(self.root),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        }
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.procs: dict[str, subprocess.Popen] = {}
        self.start(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            self.address.rsplit(":", 1)[1],
            "--no-dashboard",
        )
        self.start_worker("w-cpu")
        self.start_worker("w-gpu", "--resources", "GPU=1")
        from distributed import Client

        self.client = Client(self.address, timeout="60s", set_as_default=False)
        self.client.wait_for_workers(2, timeout=120)

    def start(self, name: str, *args: str):
        log = open(self.logs / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start_worker(self, name: str, *extra: str):
        self.start(
            name,
            "worker",
            self.address,
            "--name",
            name,
            "--nthreads",
            "1",
            "--no-nanny",
            "--no-dashboard",
            *extra,
        )

    def workers(self) -> set[str]:
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return {w["name"] for w in info.values()}

    def judges(self) -> list[psutil.Process]:
        """Judge processes grading for this cluster's course (started by its workers)."""
        found = []
        for p in psutil.process_iter(["cmdline"]):
            cmd = " ".join(p.info["cmdline"] or [])
            if "dlcourse.judge" in cmd and f"--course {self.root}" in cmd:
                found.append(p)
        return found

    def scheduler_tasks(self) -> int:
        return self.client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))

    def close(self):
        try:
            self.client.close(timeout=10)
        except Exception:  # noqa: BLE001 (the last test kills the scheduler)
            pass
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Path:
    """Six submissions: two solutions, two untouched releases, a partial one, a broken file."""
    folder = tmp_path_factory.mktemp("class")
    course = Course(ROOT)
    for student in ("sol_a", "sol_b"):
        submit(folder, student, A, read(course.solution_notebook(A)))
    for student in ("rel_a", "rel_b"):
        submit(folder, student, A, read(course.release_notebook(A)))
    submit(folder, "partial", A, demo.partial(course, A))
    submit(folder, "broken", A, '{"cells": [ this is not json')
    return folder


def slow_class(folder: Path, students, seconds: int) -> Path:
    """Release notebooks whose first cell sleeps: their judges run long enough to be caught."""
    nb = read(Course(ROOT).release_notebook(A))
    nb.cells.insert(0, nbformat.v4.new_code_cell(f"import time\ntime.sleep({seconds})"))
    for student in students:
        submit(folder, student, A, nb)
    return folder


def grade_cmd(cluster: Cluster, folder: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dlcourse",
        "--course",
        str(cluster.root),
        "grade",
        A,
        str(folder),
        "--out",
        str(out),
        "--format",
        "json",
        *extra,
    ]


def grade(cluster: Cluster, folder: Path, out: Path, *extra: str, check=True):
    done = subprocess.run(
        grade_cmd(cluster, folder, out, *extra), capture_output=True, text=True, env=cluster.env
    )
    if check and done.returncode != 0:
        raise AssertionError(f"dlcourse grade failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return done


def records(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (out / "results").glob(f"*/{A}.json")}


def gradebook_rows(out: Path) -> dict[str, tuple[int, int, int]]:
    """{student: (submissions, grades, grades with an auto score)} for the assignment."""
    with sqlite3.connect(out / "gradebook.db") as conn:
        rows = conn.execute(
            "SELECT s.student_id, COUNT(DISTINCT s.id), COUNT(g.id), COUNT(g.auto_score) "
            "FROM submitted_assignment s JOIN assignment a ON s.assignment_id = a.id "
            "JOIN submitted_notebook n ON n.assignment_id = s.id "
            "JOIN grade g ON g.notebook_id = n.id "
            "WHERE a.name = ? GROUP BY s.student_id",
            (A,),
        ).fetchall()
    return {student: (subs, grades, scored) for student, subs, grades, scored in rows}


def assert_graded_once(out: Path, expected: dict[str, float]):
    rows = gradebook_rows(out)
    assert set(rows) == set(expected)
    for student, (subs, grades, scored) in rows.items():
        assert subs == 1 and grades == scored > 0, (student, rows[student])
    scores = {s: r["score"] for s, r in records(out).items()}
    assert set(scores) == set(expected)
    assert all(_matches(scores[s], expected[s]) for s in scores), scores


def test_class_on_the_cluster_scores_as_the_local_run(cluster, klass, tmp_path):
    local = grade(cluster, klass, tmp_path / "local", "--workers", "2")
    remote = grade(cluster, klass, tmp_path / "cluster", "--scheduler", cluster.address)
    assert json.loads(remote.stdout) == json.loads(local.stdout)  # every test, point and message
    assert_graded_once(tmp_path / "cluster", EXPECTED)
    where = {s: r["grader"]["worker"] for s, r in records(tmp_path / "cluster").items()}
    assert set(where.values()) == {"w-cpu", "w-gpu"}, where  # both workers took tasks
    assert all(
        r["grader"] is None or "worker" not in r["grader"]
        for r in records(tmp_path / "local").values()
    )
    # a rerun grades nothing again (the gradebook says what is done)
    again = grade(cluster, klass, tmp_path / "cluster", "--scheduler", cluster.address)
    assert json.loads(again.stdout) == json.loads(remote.stdout)
    assert_graded_once(tmp_path / "cluster", EXPECTED)


def test_gpu_assignment_runs_only_on_the_gpu_worker(cluster, klass, tmp_path):
    toml = cluster.root / "autograder" / A / "assignment.toml"
    original = toml.read_text()
    toml.write_text('device = "prefer-cuda"\n' + original)  # client's and workers' copy alike
    three = tmp_path / "three"
    for student in ("sol_a", "rel_a", "partial"):  # as many tasks as both workers took above
        shutil.copytree(klass / "submitted" / student, three / "submitted" / student)
    try:
        grade(cluster, three, tmp_path / "out", "--scheduler", cluster.address)
    finally:
        toml.write_text(original)
    assert_graded_once(tmp_path / "out", {s: EXPECTED[s] for s in ("sol_a", "rel_a", "partial")})
    assert {r["grader"]["worker"] for r in records(tmp_path / "out").values()} == {"w-gpu"}


def test_a_worker_with_other_graders_refuses(cluster, klass, tmp_path):
    client_course = course_copy(tmp_path / "client_course")
    grader = next((client_course / "autograder" / A).glob("test_*.py"))
    grader.write_text(grader.read_text() + "\n# changed on the client only\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dlcourse",
            "--course",
            str(client_course),
            "grade",
            A,
            str(klass),
            "--out",
            str(tmp_path / "out"),
            "--student",
            "x",
            "--scheduler",
            cluster.address,
        ],
        capture_output=True,
        text=True,
        env=cluster.env,
    )
    assert done.returncode != 0
    assert "other graders" in done.stderr and "update the course" in done.stderr
    assert not records(tmp_path / "out") and not gradebook_rows(tmp_path / "out")


def _start_and_catch_judges(cluster, folder, out, **popen):
    proc = subprocess.Popen(
        grade_cmd(cluster, folder, out, "--scheduler", cluster.address),
        env=cluster.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        **popen,
    )
    until(lambda: len(cluster.judges()) >= 2 or proc.poll() is not None, 120, "judges running")
    assert proc.poll() is None
    return proc


def test_a_lost_client_and_a_cancelled_run_stop_their_judges(cluster, tmp_path):
    folder = slow_class(tmp_path / "slow", ["s1", "s2", "s3"], 100)
    proc = _start_and_catch_judges(cluster, folder, tmp_path / "a")
    proc.kill()  # the client dies without a word: the scheduler releases its tasks
    proc.wait()
    until(lambda: not cluster.judges(), 40, "judges stopped after the client was killed")
    until(lambda: cluster.scheduler_tasks() == 0, 20, "the scheduler forgot the tasks")

    # Ctrl-C: on a cluster the run stops at once and cancels its own tasks on the way out
    def ctrl_c_works():  # a background shell may have started us with SIGINT ignored
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    proc = _start_and_catch_judges(cluster, folder, tmp_path / "b", preexec_fn=ctrl_c_works)
    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    assert proc.returncode == 128 + signal.SIGINT
    until(lambda: not cluster.judges(), 40, "judges stopped after Ctrl-C")
    until(lambda: cluster.scheduler_tasks() == 0, 20, "the scheduler forgot the tasks")
    assert not records(tmp_path / "b")


def test_a_worker_killed_mid_class_loses_no_grade(cluster, klass, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        grade_cmd(cluster, klass, out, "--scheduler", cluster.address),
        env=cluster.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    victim = psutil.Process(cluster.procs["w-cpu"].pid)
    until(
        lambda: any("dlcourse.judge" in " ".join(c.cmdline()) for c in victim.children()),
        120,
        "a judge running on w-cpu",
    )
    victim.send_signal(signal.SIGKILL)
    cluster.procs["w-cpu"].wait()
    try:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        assert_graded_once(out, EXPECTED)
        assert "w-gpu" in {r["grader"]["worker"] for r in records(out).values()}
    finally:
        cluster.start_worker("w-cpu")
        until(lambda: cluster.workers() == {"w-cpu", "w-gpu"}, 120, "w-cpu back")


def test_a_lost_scheduler_ends_the_run_and_a_rerun_grades_the_rest(cluster, klass, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(klass, folder)
    slow_class(folder, ["slow"], 20)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        grade_cmd(cluster, folder, out, "--scheduler", cluster.address),
        env=cluster.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    until(
        lambda: gradebook_rows(out) if (out / "gradebook.db").is_file() else None,
        180,
        "a first grade committed",
    )
    cluster.procs["scheduler"].kill()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "lost the Dask scheduler" in err
    before = gradebook_rows(out)
    assert "slow" not in before
    stamps = {s: (out / "results" / s / f"{A}.json").stat().st_mtime_ns for s in before}
    grade(cluster, folder, out, "--workers", "2")  # the rest, on this machine
    assert_graded_once(out, {**EXPECTED, "slow": 0})
    assert stamps == {s: (out / "results" / s / f"{A}.json").stat().st_mtime_ns for s in before}


def make_certificates(folder: Path) -> dict[str, Path]:
    """A private CA and one certificate for 127.0.0.1, signed by it (openssl)."""
    folder.mkdir()
    ca, key, csr, cert = (folder / n for n in ("ca.pem", "node-key.pem", "node.csr", "node.pem"))
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
    ssl = ["openssl"]
    subprocess.run(
        [
            *ssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=dlcourse test CA",
            "-keyout",
            str(folder / "ca-key.pem"),
            "-out",
            str(ca),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *ssl,
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(csr),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *ssl,
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca),
            "-CAkey",
            str(folder / "ca-key.pem"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            str(ext),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return {"ca": ca, "cert": cert, "key": key}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_scheduler_with_certificates_from_course_toml(tmp_path):
    """Scheduler and worker require encryption; the client's certificates come from course.toml."""
    certs = make_certificates(tmp_path / "certs")
    root = course_copy(tmp_path / "course")
    address = f"tls://127.0.0.1:{free_port()}"
    tls = [
        "--tls-ca-file",
        str(certs["ca"]),
        "--tls-cert",
        str(certs["cert"]),
        "--tls-key",
        str(certs["key"]),
    ]
    env = {
        **os.environ,
        "DLCOURSE_ROOT": str(root),
        "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    logs = open(tmp_path / "tls.log", "ab")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                address.rsplit(":", 1)[1],
                "--protocol",
                "tls",
                "--no-dashboard",
                *tls,
            ],
            env=env,
            stdout=logs,
            stderr=logs,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dask",
                "worker",
                address,
                "--name",
                "w-tls",
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                *tls,
            ],
            env=env,
            stdout=logs,
            stderr=logs,
        ),
    ]
    try:
        folder = tmp_path / "class"
        submit(folder, "partial", A, demo.partial(Course(ROOT), A))
        cmd = [
            sys.executable,
            "-m",
            "dlcourse",
            "--course",
            str(root),
            "grade",
            A,
            str(folder),
            "--out",
            str(tmp_path / "out"),
            "--format",
            "json",
        ]
        client_env = {k: v for k, v in env.items() if not k.startswith("DASK_")}
        (root / "course.toml").write_text(f'[grading]\nscheduler = "{address}"\n')
        refused = subprocess.run(cmd, env=client_env, capture_output=True, text=True)
        assert refused.returncode != 0 and "Dask scheduler" in refused.stderr  # no certificates
        (root / "course.toml").write_text(
            f'[grading]\nscheduler = "{address}"\ntls_ca_file = "{certs["ca"]}"\n'
            f'tls_client_cert = "{certs["cert"]}"\ntls_client_key = "{certs["key"]}"\n'
        )
        done = subprocess.run(cmd, env=client_env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        assert [_matches(r["score"], PARTIAL) for r in json.loads(done.stdout)] == [True]
        assert records(tmp_path / "out")["partial"]["grader"]["worker"] == "w-tls"
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
