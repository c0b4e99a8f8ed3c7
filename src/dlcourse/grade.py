"""Grading a class: one judge process per submission, one writer for the gradebook.

Each submission is judged in its own ``python -m dlcourse.judge`` process (which starts the
untrusted worker); this process only collects the judges' result files, so it is the single
writer of the gradebook, the feedback and the results. A submission counts as graded once
its gradebook transaction has committed; a rerun skips those unless forced.

One submission never stops the class: whatever a judge sends back, and whatever goes wrong
while recording one submission, becomes that submission's error record (a clear message for
the student, the traceback in ``<out>/logs/<student>/<assignment>.log`` for the instructor),
and the run goes on. Stopping the run stops all of its grading (see :class:`Run`).
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from dlcourse import course_config, deadlines, feedback, gradebook, sandbox
from dlcourse.course import Course, Limits
from dlcourse.exports.gradescope import results as gradescope  # noqa: F401 (moved there)
from dlcourse.judge import backstop
from dlcourse.notebook import SubmissionError, open_regular
from dlcourse.text import ERROR_CHARS, MESSAGE_CHARS, RECORD_BYTES, clean, from_bytes, printable

# nbgrader's ids: no whitespace (it strips it), no glob characters (its student_id is a
# glob), no path separators; one form for the gradebook, paths, feedback and tables
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}")
OUR_PROBLEM = (
    "internal grader error: a problem on our side, not in your notebook; your instructor was told"
)
JUDGE_MARGIN = 120  # seconds beyond a submission's own backstop for the judge's start and pytest


def valid_student_id(name: str) -> bool:
    return STUDENT_ID.fullmatch(name) is not None and not name.endswith(".")


@dataclass
class Job:
    student: str
    notebook: Path | None
    problem: str | None = None  # why it cannot be graded at all
    root: Path | None = None  # the submissions folder: no link allowed below it


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def find_submissions(
    course: Course, assignment: str, path: Path, student: str | None = None
) -> list[Job]:
    """One notebook, or a folder in nbgrader's layout: ``[submitted/]<student>/<assignment>/*.ipynb``."""
    path = Path(path)
    if path.suffix == ".ipynb" or path.is_file() or not path.exists():
        if student is None:
            parts = path.absolute().parts
            student = parts[-3] if len(parts) >= 3 and parts[-2] == assignment else path.stem
        if not valid_student_id(student):
            raise ValueError(
                f"{printable(student, newlines=False)!r} is not a valid student id "
                "(letters, digits and _ . @ + -, at most 128)"
            )
        return [Job(student, path)]
    root = (path / "submitted" if _real_dir(path / "submitted") else path).resolve()
    jobs = []
    for folder in sorted(root.iterdir()):
        if not valid_student_id(folder.name) or not _real_dir(folder):
            if folder.is_dir():
                print(
                    f"dlcourse: skipping {printable(folder.name, newlines=False)!r}: not a valid "
                    "student folder",
                    file=sys.stderr,
                )
            continue
        work = folder / assignment
        if work.is_symlink():
            jobs.append(
                Job(
                    folder.name,
                    None,
                    "your assignment folder is a link, not a folder; "
                    "submit the notebook itself in a plain folder",
                )
            )
            continue
        if not work.is_dir():
            continue
        expected = work / course.notebook_name(assignment)
        notebooks = sorted(p for p in work.iterdir() if p.suffix == ".ipynb")
        if expected.exists() or expected.is_symlink():
            jobs.append(Job(folder.name, expected, root=root))
        elif len(notebooks) == 1:
            jobs.append(Job(folder.name, notebooks[0], root=root))
        elif not notebooks:
            jobs.append(Job(folder.name, None, "no notebook was submitted"))
        else:
            jobs.append(Job(folder.name, None, f"several notebooks and none named {expected.name}"))
    return jobs


def judge_command(
    course: Course,
    assignment: str,
    out: Path,
    *,
    notebook: Path | None = None,
    isolation: str = "auto",
    limits: dict | None = None,
    seed: int | None = None,
    seeds_file: Path | None = None,
    listing: bool = False,
) -> list[str]:
    """The one command line that starts a judge (``python -m dlcourse.judge``)."""
    cmd = [
        sys.executable,
        "-m",
        "dlcourse.judge",
        "--assignment",
        assignment,
        "--course",
        str(course.root),
        "--out",
        str(out),
    ]
    if listing:
        return [*cmd, "--list"]
    cmd += ["--notebook", str(notebook), "--isolation", isolation]
    cmd += [f"--limit={k}={v}" for k, v in (limits or {}).items()]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    if seeds_file is not None:
        cmd += ["--seeds", str(seeds_file)]
    return cmd


def list_tests(course: Course, assignment: str) -> list[dict]:
    """The graders of an assignment (name, cell, max_points), collected by a judge process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tests.json"
        done = subprocess.run(
            judge_command(course, assignment, out, listing=True), capture_output=True
        )
        if done.returncode != 0 or not out.is_file():
            raise RuntimeError(
                f"could not collect the graders of {assignment}:\n"
                f"{from_bytes(done.stdout + done.stderr, 6000)}"
            )
        return json.loads(out.read_text())["tests"]


class Run:
    """The processes of one class run, so that stopping the run stops all of its grading.

    Judges start in their own sessions (a terminal's Ctrl-C reaches only this process, which
    decides) and end with this process however it ends: each judge asks the kernel for a
    signal when its parent dies (``PR_SET_PDEATHSIG``) and also watches for it, and kills its
    sandboxed worker on the way out. The first Ctrl-C starts no new submission and lets the
    running ones finish and be recorded; a second one, SIGTERM or SIGHUP stop every judge at
    once. Nothing is half-written: a stopped judge's submission is not recorded at all.
    """

    def __init__(self, immediate: bool = False):
        """``immediate``: every signal stops the run at once (on a Dask cluster, where leaving
        the loop is what cancels the cluster's tasks)."""
        self.immediate = immediate
        self.procs: set[subprocess.Popen] = set()
        self.lock = threading.Lock()
        self.draining = False  # first Ctrl-C: finish what runs, start nothing new
        self.stopped: int | None = None  # the signal that stopped the run at once

    def start(self, cmd: list[str]) -> subprocess.Popen | None:
        with self.lock:
            if self.draining or self.stopped:
                return None
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            self.procs.add(proc)
            return proc

    def finished(self, proc: subprocess.Popen) -> None:
        with self.lock:
            self.procs.discard(proc)

    def stop_all(self) -> None:
        """SIGTERM every judge (each kills its worker), then SIGKILL what is left."""
        with self.lock:
            procs = list(self.procs)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for proc in procs:
                try:
                    os.killpg(proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and any(p.poll() is None for p in procs):
                time.sleep(0.05)

    def on_signal(self, signum, frame) -> None:
        if self.immediate:
            self.stopped = signum
            raise KeyboardInterrupt
        if signum == signal.SIGINT and not self.draining and not self.stopped:
            self.draining = True
            print(
                "\ndlcourse: stopping after the submissions being graded now (Ctrl-C again to "
                "stop at once)",
                file=sys.stderr,
            )
            return
        self.stopped = signum
        self.stop_all()

    def install(self):
        """Take over SIGINT, SIGTERM and SIGHUP (main thread only); returns a restore function."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        saved = {
            sig: signal.signal(sig, self.on_signal)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        return lambda: [signal.signal(sig, handler) for sig, handler in saved.items()]


class GradingStopped(Exception):
    """The class run was stopped; ``records`` holds what was graded and recorded."""

    def __init__(self, records: list[dict], signum: int, remaining: int):
        super().__init__(f"stopped by signal {signum}")
        self.records, self.signum, self.remaining = records, signum, remaining


def run_judge(
    course: Course,
    assignment: str,
    job: Job,
    isolation: str,
    limits: Limits,
    overrides: dict,
    run: Run,
    seed: int | None = None,
    seeds: dict | None = None,
) -> dict:
    """Judge one submission in a fresh process. Never raises: whatever happens is a result
    (``{"error": ...}`` for the student, ``"internal_error"`` and ``"log"`` for the instructor).
    The student's file is opened once, safely (:func:`open_regular`), and judged from bytes."""
    if job.notebook is None:
        return {"error": job.problem or "no notebook was submitted"}
    try:
        data = open_regular(job.notebook, job.root)
    except SubmissionError as exc:
        return {"error": str(exc)}
    except OSError as exc:
        return {"error": f"the notebook could not be opened ({exc.strerror})"}
    return judge_bytes(course, assignment, data, isolation, limits, overrides, run, seed, seeds)


def judge_bytes(
    course: Course,
    assignment: str,
    data: bytes,
    isolation: str,
    limits: Limits,
    overrides: dict,
    run: Run | None = None,
    seed: int | None = None,
    seeds: dict | None = None,
) -> dict:
    """Judge a notebook given as bytes (a private copy is what gets graded); never raises.
    Used by the local class runner and by Dask workers alike."""
    run = run or Run()
    try:
        with tempfile.TemporaryDirectory(prefix="dlcourse-grade-") as tmp:
            private = Path(tmp) / course.notebook_name(assignment)
            private.write_bytes(data)  # graded from here on: the submitted file is not read again
            out = Path(tmp) / "result.json"
            seeds_file = None
            if seeds:
                seeds_file = Path(tmp) / "seeds.json"
                seeds_file.write_text(json.dumps(seeds))
            cmd = judge_command(
                course,
                assignment,
                out,
                notebook=private,
                isolation=isolation,
                limits=overrides,
                seed=seed,
                seeds_file=seeds_file,
            )
            proc = run.start(cmd)
            if proc is None:
                return {"stopped": True}
            try:
                stdout, stderr = proc.communicate(
                    timeout=backstop(limits.submission_seconds) + JUDGE_MARGIN
                )
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGTERM)
                stdout, stderr = proc.communicate()
                return {
                    "error": "grading took far longer than its limits allow and was stopped",
                    "log": from_bytes(stdout + stderr, 20_000),
                }
            finally:
                run.finished(proc)
            if run.stopped:
                return {"stopped": True}
            log = from_bytes(stdout + stderr, 20_000)
            if not out.is_file():
                return {
                    "error": OUR_PROBLEM,
                    "internal_error": f"the judge exited with {proc.returncode} "
                    "and wrote no result",
                    "log": log,
                }
            judged = json.loads(out.read_bytes())
            if not isinstance(judged, dict):
                raise ValueError("the judge's result is not an object")
            judged["log"] = log
            return judged
    except Exception:
        return {"error": OUR_PROBLEM, "internal_error": traceback.format_exc()}


def _tests_of(judged: dict, fallback) -> list[dict]:
    """The graders (name, cell, points, description, hint) the judge reported, else collected."""
    tests = judged.get("tests")
    if isinstance(tests, list) and tests and all(isinstance(t, dict) for t in tests):
        return tests
    return fallback()


def _text(value, limit: int) -> str:
    return clean(value, limit) if isinstance(value, str) else ""


def _metrics(got) -> dict:
    """Numbers a grader measured with ``record_property`` (Module 6's test accuracy): judge-side."""
    values = got.get("metrics") if isinstance(got, dict) else None
    if not isinstance(values, dict):
        return {}
    return {
        _text(k, 40): float(v)
        for k, v in list(values.items())[:10]
        if isinstance(k, str) and type(v) in (int, float) and math.isfinite(v)
    }


def make_record(assignment: str, student: str, tests: list[dict], judged: dict) -> dict:
    """The result of one submission, in the documented JSON shape (plus execution details).

    ``tests`` (every grader, with its cell and points) comes from the judge itself, or from
    collecting the graders when the judge could not report. Every field derived from the
    submission is checked and bounded here, whatever the judge passed on.
    """
    got_tests = judged.get("tests") if isinstance(judged.get("tests"), list) else []
    by_name = {t.get("name"): t for t in got_tests if isinstance(t, dict)}
    error = _text(judged.get("error"), ERROR_CHARS) or None
    rows = []
    for test in tests:
        got = by_name.get(test["name"])
        passed = bool(got and got.get("passed") is True)
        message = (
            _text(got.get("message"), MESSAGE_CHARS) if got else (error or "the test did not run")
        )
        seed = got.get("seed") if got else None
        rows.append(
            {
                "name": test["name"],
                "cell": test["cell"],
                "points": float(test["max_points"]) if passed else 0.0,
                "max_points": float(test["max_points"]),
                "passed": passed,
                "message": "" if passed else message,
                "description": _text(test.get("description"), MESSAGE_CHARS),
                "hint": _text(test.get("hint"), MESSAGE_CHARS),
                "seed": seed if type(seed) is int else None,
                "grader_error": bool(got and got.get("grader_error") is True),
                "metrics": _metrics(got),
            }
        )
    execution = []
    for cell in judged.get("execution") or []:
        if isinstance(cell, dict):
            execution.append(
                {
                    "index": cell.get("index") if type(cell.get("index")) is int else 0,
                    "id": _text(cell.get("id"), 100),
                    "status": "ok" if cell.get("status") == "ok" else "error",
                    "error": _text(cell.get("error"), 500),
                    "seconds": float(cell["seconds"])
                    if type(cell.get("seconds")) in (int, float)
                    else 0.0,
                    "cpu": float(cell["cpu"]) if type(cell.get("cpu")) in (int, float) else 0.0,
                }
            )
    record = {
        "assignment": assignment,
        "student": student,
        "score": sum(r["points"] for r in rows),
        "max_score": sum(r["max_points"] for r in rows),
        "tests": rows,
        "error": error,
        "execution": execution,
        "grader": judged.get("grader") if isinstance(judged.get("grader"), dict) else {},
        "seconds": judged.get("seconds"),
        "cpu_seconds": judged.get("cpu_seconds"),
        "limits": judged.get("limits") if isinstance(judged.get("limits"), dict) else {},
        "seed": judged.get("seed") if type(judged.get("seed")) is int else None,
        "seeds": judged.get("seeds") if isinstance(judged.get("seeds"), dict) else {},
        "flags": judged.get("flags") if isinstance(judged.get("flags"), list) else [],
        "grader_errors": len(judged.get("grader_errors") or [])
        + bool(judged.get("internal_error")),
    }
    return cap_record(record)


def cap_record(record: dict, limit: int = RECORD_BYTES) -> dict:
    """Keep a record under ``limit`` bytes of JSON: drop the cells that ran fine first, then cut."""
    if len(json.dumps(record)) <= limit:
        return record
    cells = record["execution"]
    failed = [c for c in cells if c["status"] != "ok"]
    record["execution"] = failed[:200]
    cut = len(cells) - len(record["execution"])
    if cut:
        record["execution_cut"] = cut
    if len(json.dumps(record)) > limit:
        for t in record["tests"]:
            t["message"] = clean(t["message"], 200)
    return record


def public(record: dict) -> dict:
    """The documented result fields only."""
    keep = ("name", "cell", "points", "max_points", "passed", "message")
    return {
        **{k: record[k] for k in ("assignment", "student", "score", "max_score")},
        "tests": [{k: t[k] for k in keep} for t in record["tests"]],
    }


def keep_autograded(course: Course, assignment: str, job: Job, out: Path) -> None:
    """The graded notebook in nbgrader's autograded/ layout, where formgrader opens it."""
    if job.notebook is None:
        return
    try:
        data = open_regular(job.notebook, job.root)
    except (SubmissionError, OSError):
        return
    target = out / "autograded" / job.student / assignment / course.notebook_name(assignment)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)


def cell_scores(record: dict) -> dict[str, float]:
    scores: dict[str, float] = {}
    for test in record["tests"]:
        scores[test["cell"]] = scores.get(test["cell"], 0.0) + test["points"]
    return scores


def error_record(assignment: str, student: str, tests: list[dict], message: str) -> dict:
    """A 0 on every test with one message: what a submission gets when recording it failed."""
    return make_record(assignment, student, tests, {"error": message})


def write_log(
    out: Path, assignment: str, student: str, judged: dict, extra: str = ""
) -> Path | None:
    """What the instructor needs when grading went wrong on our side: tracebacks, the judge's output."""
    parts = []
    if judged.get("internal_error"):
        parts.append(f"== internal error\n{judged['internal_error']}")
    for entry in judged.get("grader_errors") or []:
        if isinstance(entry, dict):
            parts.append(
                f"== grader error in {entry.get('test')} ({entry.get('when')})\n{entry.get('traceback')}"
            )
    if extra:
        parts.append(f"== while recording\n{extra}")
    if not parts:
        return None
    if judged.get("log"):
        parts.append(f"== the judge's output (tail)\n{judged['log']}")
    path = out / "logs" / student / f"{assignment}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(printable("\n\n".join(str(p) for p in parts)) + "\n", encoding="utf-8")
    return path


def record_submission(
    course: Course, assignment: str, job: Job, record: dict, out: Path, db, timestamp=None
) -> None:
    """Results, feedback, the autograded copy, then the gradebook transaction (= graded)."""
    saved = out / "results" / job.student / f"{assignment}.json"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.with_suffix(".tmp").write_text(json.dumps(record, indent=1))
    saved.with_suffix(".tmp").replace(saved)
    feedback.write(record, out / "feedback", course)
    keep_autograded(course, assignment, job, out)
    gradebook.record(
        db,
        assignment,
        job.student,
        cell_scores(record),
        timestamp,
        (record.get("late") or {}).get("penalty", 0.0),
    )  # commit = graded


def local_pairs(
    course: Course,
    assignment: str,
    jobs: list[Job],
    *,
    isolation: str,
    budget: Limits,
    overrides: dict,
    workers: int,
    run: Run,
    seed: int | None,
    replay: dict | None,
):
    """Yield ``(job, judged)`` from judges on this machine, ``workers`` at a time; after a first
    Ctrl-C (``run.draining``) the submissions not yet started are dropped."""
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = {
            pool.submit(
                run_judge,
                course,
                assignment,
                job,
                isolation,
                budget,
                overrides,
                run,
                seed,
                (replay or {}).get(job.student),
            ): job
            for job in jobs
        }
        for future in as_completed(futures):
            if run.draining:
                for pending in futures:
                    pending.cancel()
            if not future.cancelled():
                yield futures[future], future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def grade(
    course: Course,
    assignment: str,
    path: Path,
    *,
    student: str | None = None,
    out: Path | None = None,
    isolation: str = "auto",
    workers: int = 1,
    force: bool = False,
    progress: bool = True,
    limits: dict | None = None,
    seed: int | None = None,
    replay: dict[str, dict] | None = None,
    scheduler: str | None = None,
    db: str | None = None,
) -> list[dict]:
    """Grade one notebook or a class; record gradebook, feedback and results under ``out``.

    ``replay`` maps students to the seeds a previous run recorded (``record["seeds"]``), to
    reproduce their grades. ``scheduler`` (a Dask scheduler's address) grades on a cluster;
    ``db`` is the gradebook's SQLAlchemy URL (default: ``<out>/gradebook.db``); both default to
    the environment and ``course.toml`` (:mod:`dlcourse.course_config`). Raises
    :class:`GradingStopped` when the run is stopped by a signal.
    """
    course.require(assignment)
    scheduler = course_config.setting(course.root, "scheduler", scheduler)
    if not scheduler:
        isolation = sandbox.choose(isolation)  # once per class run (and one warning, if reduced)
        # N workers share the cores: more threads than cores makes PyTorch's OpenMP pool crawl
        os.environ.setdefault(
            "OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // max(1, workers)))
        )
    overrides = limits or {}
    out = Path(out or course.grading)
    db = gradebook.working_gradebook(
        course.gradebook, course_config.setting(course.root, "db", db) or out / "gradebook.db"
    )
    late_rule = deadlines.rule(course.graders(assignment) / "assignment.toml")
    if late_rule.due is not None:
        gradebook.set_duedate(db, assignment, late_rule.due)
    budget = course.limits(assignment, **overrides)
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
    collected: list[dict] = []

    def all_tests() -> list[dict]:
        if not collected:
            collected.extend(list_tests(course, assignment))
        return collected

    run = Run(immediate=bool(scheduler))
    restore = run.install()
    bar = tqdm(
        total=len(todo),
        desc=f"grading {assignment}",
        unit="notebook",
        disable=not progress,
        file=sys.stderr,
    )
    if scheduler:
        from dlcourse import cluster

        # the worker resolves "auto" itself; a task carries the overrides only (the same
        # graders hash means the same assignment.toml limits)
        pairs = cluster.judged_pairs(
            course,
            assignment,
            todo,
            scheduler=scheduler,
            isolation=isolation,
            overrides=overrides,
            run=run,
            seed=seed,
            replay=replay,
        )
    else:
        pairs = local_pairs(
            course,
            assignment,
            todo,
            isolation=isolation,
            budget=budget,
            overrides=overrides,
            workers=workers,
            run=run,
            seed=seed,
            replay=replay,
        )
    try:
        if todo:
            import nbgrader.api  # noqa: F401 (slow to import: done while the judges run)
        for job, judged in pairs:
            if run.stopped or judged.get("stopped"):
                continue  # never recorded: rerunning grades it
            if scheduler and run.draining:
                break  # leaving the loop cancels the cluster's remaining tasks
            try:
                record = make_record(assignment, job.student, _tests_of(judged, all_tests), judged)
                timestamp = deadlines.submitted_at(job.notebook)
                deadlines.apply(
                    record, timestamp, gradebook.due_for(db, assignment, job.student), late_rule
                )
                write_log(out, assignment, job.student, judged)
                record_submission(course, assignment, job, record, out, db, timestamp)
            except Exception:
                trace = traceback.format_exc()
                print(
                    f"dlcourse: internal error while recording {printable(job.student)}; see "
                    f"{out / 'logs' / job.student}",
                    file=sys.stderr,
                )
                try:
                    tests = all_tests()
                except Exception:  # the graders cannot even be collected: still one record
                    tests, trace = [], trace + "\n\n" + traceback.format_exc()
                record = error_record(assignment, job.student, tests, OUR_PROBLEM)
                record["grader_errors"] = 1
                write_log(out, assignment, job.student, judged, trace)
                try:
                    record_submission(course, assignment, job, record, out, db, None)
                except Exception:
                    write_log(
                        out,
                        assignment,
                        job.student,
                        judged,
                        trace + "\n\n" + traceback.format_exc(),
                    )
            records[job.student] = record
            bar.update()
    except KeyboardInterrupt:
        if not run.stopped:  # not ours: a Ctrl-C that came before our handler was installed
            raise
    finally:
        pairs.close()  # leaving early cancels what is still queued or running
        bar.close()
        restore()
    if run.stopped or run.draining:
        done = [records[j.student] for j in jobs if j.student in records]
        raise GradingStopped(done, run.stopped or signal.SIGINT, len(jobs) - len(done))
    return [records[job.student] for job in jobs]


def table(records: list[dict]) -> str:
    """A plain score table for the terminal (student text escaped: it reaches a terminal)."""
    width = max([len("student")] + [len(r["student"]) for r in records])
    lines = [f"{'student':<{width}}  {'score':>7}  {'max':>5}  failed checks"]
    for r in records:
        failed = [t["name"].removeprefix("test_") for t in r["tests"] if not t["passed"]]
        note = r.get("error") or (
            ", ".join(failed[:4]) + (f" (+{len(failed) - 4} more)" if len(failed) > 4 else "")
        )
        if r.get("late"):
            note = f"{r['late']['text']}; {note}" if note else r["late"]["text"]
        lines.append(
            f"{printable(r['student'], newlines=False):<{width}}  {r['score']:>7g}  "
            f"{r['max_score']:>5g}  {clean(note, 200, newlines=False)}"
        )
    from dlcourse.screening import flag_summary

    flags = flag_summary(records)
    if flags:
        lines.append("\n" + printable(flags))
    errors = sum(int(r.get("grader_errors") or 0) for r in records)
    if errors:
        lines.append(
            f"\n{errors} grader error(s): bugs on our side, not the students'; "
            "the tracebacks are in <out>/logs/"
        )
    return "\n".join(lines)
