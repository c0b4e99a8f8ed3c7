"""Grading a class: one judge process per submission, one writer for the gradebook.

Each submission is judged in its own ``python -m dlcourse.judge`` process (which starts the
untrusted worker); this process only collects the judges' result files, so it is the single
writer of the gradebook, the feedback and the results. A submission counts as graded once
its gradebook transaction has committed; a rerun skips those unless forced.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from dlcourse import course_config, deadlines, feedback, gradebook, sandbox
from dlcourse.course import Course

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")


@dataclass
class Job:
    student: str
    notebook: Path | None
    problem: str | None = None  # why it cannot be graded at all


def find_submissions(course: Course, assignment: str, path: Path, student: str | None = None) -> list[Job]:
    """One notebook, or a folder in nbgrader's layout: ``[submitted/]<student>/<assignment>/*.ipynb``."""
    path = Path(path)
    if path.suffix == ".ipynb" or path.is_file() or not path.exists():
        if student is None:
            parts = path.resolve().parts
            student = parts[-3] if len(parts) >= 3 and parts[-2] == assignment else path.stem
        return [Job(student, path)]
    root = path / "submitted" if (path / "submitted").is_dir() else path
    jobs = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if not STUDENT_ID.match(folder.name) or folder.is_symlink():
            print(f"dlcourse: skipping {folder.name!r}: not a valid student folder", file=sys.stderr)
            continue
        work = folder / assignment
        if not work.is_dir():
            continue
        expected = work / course.notebook_name(assignment)
        notebooks = sorted(work.glob("*.ipynb"))
        if expected.is_file():
            jobs.append(Job(folder.name, expected))
        elif len(notebooks) == 1:
            jobs.append(Job(folder.name, notebooks[0]))
        elif not notebooks:
            jobs.append(Job(folder.name, None, "no notebook was submitted"))
        else:
            jobs.append(Job(folder.name, None, f"several notebooks and none named {expected.name}"))
    return jobs


def list_tests(course: Course, assignment: str) -> list[dict]:
    """The graders of an assignment (name, cell, max_points), collected by a judge process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tests.json"
        done = subprocess.run([sys.executable, "-m", "dlcourse.judge", "--assignment", assignment,
                               "--course", str(course.root), "--list", "--out", str(out)],
                              capture_output=True, text=True)
        if done.returncode != 0 or not out.is_file():
            raise RuntimeError(f"could not collect the graders of {assignment}:\n{done.stdout[-3000:]}"
                               f"{done.stderr[-3000:]}")
        return json.loads(out.read_text())["tests"]


def run_judge(course: Course, assignment: str, job: Job, isolation: str, timeout: float,
              limits: dict) -> dict:
    """Judge one submission in a fresh process; a judge that fails yields an error, not a crash."""
    if job.notebook is None:
        return {"error": job.problem or "no notebook was submitted"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "dlcourse.judge", "--assignment", assignment, "--course",
               str(course.root), "--notebook", str(job.notebook), "--out", str(out),
               "--isolation", isolation, *(f"--limit={k}={v}" for k, v in limits.items())]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"grading took longer than {timeout:.0f} s and was stopped"}
        if not out.is_file():
            tail = (done.stdout + done.stderr)[-2000:]
            print(f"internal grader error for {job.student}:\n{tail}", file=sys.stderr)
            return {"error": "internal grader error; please tell your instructor"}
        return json.loads(out.read_text())


def make_record(assignment: str, student: str, tests: list[dict], judged: dict) -> dict:
    """The result of one submission, in the documented JSON shape (plus execution details).

    ``tests`` (every grader, with its cell and points) comes from the judge itself, or from
    collecting the graders when the judge could not report.
    """
    by_name = {t["name"]: t for t in judged.get("tests", [])}
    error = judged.get("error")
    rows = []
    for test in tests:
        got = by_name.get(test["name"])
        passed = bool(got and got["passed"])
        message = got["message"] if got else (error or "the test did not run")
        rows.append({"name": test["name"], "cell": test["cell"],
                     "points": test["max_points"] if passed else 0.0, "max_points": test["max_points"],
                     "passed": passed, "message": "" if passed else message,
                     "description": test.get("description", ""), "hint": test.get("hint", "")})
    return {"assignment": assignment, "student": student,
            "score": sum(r["points"] for r in rows), "max_score": sum(r["max_points"] for r in rows),
            "tests": rows, "error": error, "execution": judged.get("execution", []),
            "grader": judged.get("grader")}


def public(record: dict) -> dict:
    """The documented result fields only."""
    keep = ("name", "cell", "points", "max_points", "passed", "message")
    return {**{k: record[k] for k in ("assignment", "student", "score", "max_score")},
            "tests": [{k: t[k] for k in keep} for t in record["tests"]]}


def gradescope(record: dict) -> dict:
    """Gradescope's results.json for one submission (messages are written to be shown)."""
    return {
        "score": record["score"],
        "output": f"{record['assignment']}: {record['score']:g} / {record['max_score']:g}"
                  + (f"\n{record['error']}" if record.get("error") else ""),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [{"name": t["name"], "number": str(i + 1), "score": t["points"],
                   "max_score": t["max_points"], "status": "passed" if t["passed"] else "failed",
                   "output": t["message"] or "passed", "tags": [t["cell"]], "visibility": "visible"}
                  for i, t in enumerate(record["tests"])],
    }


def keep_autograded(course: Course, assignment: str, job: Job, out: Path) -> None:
    """The graded notebook in nbgrader's autograded/ layout, where formgrader opens it."""
    from dlcourse.notebook import MAX_BYTES

    nb = job.notebook
    if nb is None or nb.is_symlink() or not nb.is_file() or nb.stat().st_size > MAX_BYTES:
        return
    target = out / "autograded" / job.student / assignment / course.notebook_name(assignment)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(nb, target)


def cell_scores(record: dict) -> dict[str, float]:
    scores: dict[str, float] = {}
    for test in record["tests"]:
        scores[test["cell"]] = scores.get(test["cell"], 0.0) + test["points"]
    return scores


def local_pairs(course: Course, assignment: str, jobs: list[Job], *, isolation: str,
                timeout: float, limits: dict, workers: int):
    """Yield ``(job, judged)`` from judges on this machine, ``workers`` at a time."""
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = {pool.submit(run_judge, course, assignment, job, isolation, timeout, limits): job
                   for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def grade(course: Course, assignment: str, path: Path, *, student: str | None = None,
          out: Path | None = None, isolation: str = "auto", workers: int = 1, force: bool = False,
          progress: bool = True, limits: dict | None = None, scheduler: str | None = None,
          db: str | None = None) -> list[dict]:
    """Grade one notebook or a class; record gradebook, feedback and results under ``out``.

    ``scheduler`` (a Dask scheduler's address) grades on a cluster; ``db`` is the gradebook's
    SQLAlchemy URL (default: ``<out>/gradebook.db``). Both default to the environment and
    ``course.toml`` (:mod:`dlcourse.course_config`).
    """
    course.check(assignment)
    scheduler = course_config.setting(course.root, "scheduler", scheduler)
    if not scheduler:
        isolation = sandbox.choose(isolation)  # once per class run (and one warning, if reduced)
        # N workers share the cores: more threads than cores makes PyTorch's OpenMP pool crawl
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // max(1, workers))))
    limits = limits or {}
    out = Path(out or course.grading)
    db = gradebook.working_gradebook(course.gradebook,
                                     course_config.setting(course.root, "db", db) or out / "gradebook.db")
    late_rule = deadlines.rule(course.graders(assignment) / "assignment.toml")
    if late_rule.due is not None:
        gradebook.set_duedate(db, assignment, late_rule.due)
    budget = course.limits(assignment, **limits)
    timeout = budget.notebook_seconds + 120 + 100 * (budget.probe_seconds + 15)
    jobs = find_submissions(course, assignment, path, student)
    graded = set() if force else gradebook.graded_students(db, assignment)
    records: dict[str, dict] = {}
    todo = []
    for job in jobs:
        saved = out / "results" / job.student / f"{assignment}.json"
        if job.student in graded and saved.is_file():
            records[job.student] = json.loads(saved.read_text())
        else:
            todo.append(job)
    all_tests: list[dict] = []
    bar = tqdm(total=len(todo), desc=f"grading {assignment}", unit="notebook", disable=not progress,
               file=sys.stderr)
    if scheduler:
        from dlcourse import cluster

        # the worker resolves "auto" itself; the cluster's limits are the assignment's, whole
        pairs = cluster.judged_pairs(course, assignment, todo, scheduler=scheduler,
                                     isolation=isolation, timeout=timeout,
                                     limits={**vars(budget), **limits})
    else:
        pairs = local_pairs(course, assignment, todo, isolation=isolation, timeout=timeout,
                            limits=limits, workers=workers)
    try:
        if todo:
            import nbgrader.api  # noqa: F401 (slow to import: done while the judges run)
        for job, judged in pairs:
            if judged.get("tests"):
                tests = [{k: t.get(k, "") for k in ("name", "cell", "max_points", "description", "hint")}
                         for t in judged["tests"]]
            else:
                all_tests = all_tests or list_tests(course, assignment)
                tests = all_tests
            record = make_record(assignment, job.student, tests, judged)
            timestamp = deadlines.submitted_at(job.notebook)
            deadlines.apply(record, timestamp, gradebook.due_for(db, assignment, job.student),
                            late_rule)
            saved = out / "results" / job.student / f"{assignment}.json"
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.with_suffix(".tmp").write_text(json.dumps(record, indent=1))
            saved.with_suffix(".tmp").replace(saved)
            feedback.write(record, out / "feedback")
            keep_autograded(course, assignment, job, out)
            gradebook.record(db, assignment, job.student, cell_scores(record), timestamp,
                             (record.get("late") or {}).get("penalty", 0.0))  # commit = graded
            records[job.student] = record
            bar.update()
    finally:
        pairs.close()  # leaving early cancels what is still queued or running
        bar.close()
    return [records[job.student] for job in jobs]


def table(records: list[dict]) -> str:
    """A plain score table for the terminal."""
    width = max([len("student")] + [len(r["student"]) for r in records])
    lines = [f"{'student':<{width}}  {'score':>7}  {'max':>5}  failed checks"]
    for r in records:
        failed = [t["name"].removeprefix("test_") for t in r["tests"] if not t["passed"]]
        note = r.get("error") or (", ".join(failed[:4]) + (f" (+{len(failed) - 4} more)" if len(failed) > 4 else ""))
        if r.get("late"):
            note = f"{r['late']['text']}; {note}" if note else r["late"]["text"]
        lines.append(f"{r['student']:<{width}}  {r['score']:>7g}  {r['max_score']:>5g}  {note}")
    return "\n".join(lines)
