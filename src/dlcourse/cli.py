"""The ``dlcourse`` command: data, release, grade, demo."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dlcourse.course import Course, parse_limits


@click.group()
@click.option("--course", "course_root", type=click.Path(file_okay=False, path_type=Path),
              help="Course root (default: the checkout around the current folder).")
@click.pass_context
def main(ctx, course_root):
    """Deep Learning with PyTorch: build, grade and give feedback."""
    ctx.obj = course_root


def _course(ctx) -> Course:
    return Course(ctx.obj)


def _assignment(ctx, param, value):
    """Check assignment names against the course found at run time (``source/`` decides)."""
    if value is None:
        return None
    course = _course(ctx)
    try:
        for name in value if isinstance(value, tuple) else (value,):
            course.require(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


@main.command()
def data():
    """Fetch and verify MNIST into the cache ($DLCOURSE_DATA or ~/.cache/dlcourse)."""
    from dlcourse.data import ensure_mnist, raw_folder

    root = ensure_mnist()
    click.echo(f"MNIST ready in {raw_folder(root)}")


@main.command()
@click.option("--solutions/--no-solutions", default=True, help="Also re-execute the solution notebooks.")
@click.argument("assignments", nargs=-1, callback=_assignment)
@click.pass_context
def release(ctx, solutions, assignments):
    """Regenerate release/ and gradebook.db (and solutions/) from source/."""
    from dlcourse import build

    course = _course(ctx)
    changed = build.release(course, log=click.echo)
    click.echo(f"release/: {len(changed)} file(s) updated")
    if solutions:
        for assignment in assignments or course.assignments():
            build.execute_solution(course, assignment, log=click.echo)


@main.command()
@click.argument("assignment", callback=_assignment)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--student", help="Student id when grading a single notebook.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Where the gradebook, feedback and results go (default: grading/).")
@click.option("--workers", default=1, show_default=True, help="Submissions graded at once.")
@click.option("--force", is_flag=True, help="Regrade submissions that are already in the gradebook.")
@click.option("--isolation", type=click.Choice(["auto", "bwrap", "rlimits"]), default="auto",
              show_default=True, help="How the student's code is contained: bubblewrap sandbox, or a "
              "plain subprocess with resource limits (auto: bwrap where it works).")
@click.option("--limit", "limit_pairs", multiple=True, metavar="NAME=VALUE",
              help="Override a limit of autograder/<assignment>/assignment.toml (repeatable): "
              "notebook_seconds, cell_seconds, probe_seconds, submission_seconds (CPU seconds per "
              "thread share), restarts, memory_mb, processes.")
@click.option("--scheduler", metavar="ADDRESS", help="Grade on a Dask cluster (tcp://HOST:PORT or "
              "tls://...; default: $DLCOURSE_SCHEDULER, else course.toml's [grading] scheduler).")
@click.option("--db", metavar="URL", help="Gradebook as a SQLAlchemy URL (sqlite:///..., postgresql+"
              "psycopg://...; default: $DLCOURSE_DB, course.toml, else <out>/gradebook.db).")
@click.option("--json", "as_json", is_flag=True, hidden=True,
              help="Deprecated: use --format json (kept for one release).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "gradescope"]), default="table",
              show_default=True, help="gradescope: print Gradescope's results.json for one notebook, or "
              "write <out>/gradescope/<student>/results.json for a folder.")
@click.option("--hidden-until-due", is_flag=True,
              help="gradescope: each test's result visible after the due date (the score at once).")
@click.option("--seed", type=int, help="Base seed of the hidden tests (each test's seed is derived from "
              "it and recorded); default: drawn at random.")
@click.option("--replay", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A results JSON file (one record or a list): rerun with the seeds it recorded.")
@click.pass_context
def grade(ctx, assignment, path, student, out, workers, force, isolation, limit_pairs, scheduler, db,
          as_json, fmt, hidden_until_due, seed, replay):
    """Grade a notebook, or a folder of submissions (nbgrader's submitted/<student>/<assignment>/)."""
    from dlcourse import grade as grading

    course = _course(ctx)
    try:
        limits = parse_limits(limit_pairs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--limit") from None
    if as_json:
        click.echo("dlcourse: --json is deprecated; use --format json", err=True)
        fmt = "json"
    replayed = None
    if replay is not None:
        saved = json.loads(replay.read_text())
        saved = saved if isinstance(saved, list) else [saved]
        replayed = {r["student"]: r.get("seeds") or {} for r in saved if isinstance(r, dict) and "student" in r}
        force = True
    try:
        records = grading.grade(course, assignment, path, student=student, out=out, isolation=isolation,
                                workers=workers, force=force, progress=fmt == "table", limits=limits,
                                seed=seed, replay=replayed, scheduler=scheduler, db=db)
    except grading.GradingStopped as stopped:
        if stopped.records:
            click.echo(grading.table(stopped.records), err=True)
        click.echo(f"dlcourse: stopped; {len(stopped.records)} submission(s) graded and recorded, "
                   f"{stopped.remaining} not. Run the same command again to grade the rest "
                   "(graded submissions are skipped).", err=True)
        ctx.exit(128 + int(stopped.signum))
    except (ValueError, RuntimeError) as exc:  # ClusterLost and GradersDiffer included
        raise click.ClickException(str(exc)) from None
    single = path.suffix == ".ipynb" or path.is_file()
    if fmt == "json":
        public = [grading.public(r) for r in records]
        click.echo(json.dumps(public[0] if single and len(public) == 1 else public, indent=1))
    elif fmt == "gradescope" and single:
        click.echo(json.dumps(grading.gradescope(records[0], hidden_until_due), indent=1))
    elif fmt == "gradescope":
        for record in records:
            target = Path(out or course.grading) / "gradescope" / record["student"] / "results.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(grading.gradescope(record, hidden_until_due), indent=1))
            click.echo(target)
    else:
        click.echo(grading.table(records))


@main.command()
@click.option("--assignment", callback=_assignment,
              help="Default: the course's first assignment.")
@click.pass_context
def demo(ctx, assignment):
    """Build the release, then grade a demo class (solution, untouched release, partial work)."""
    from dlcourse import build, demo as demo_class, grade as grading

    course = _course(ctx)
    assignment = assignment or course.assignments()[0]
    build.release(course, log=click.echo)
    submitted = demo_class.build_class(course, assignment, course.grading / "demo")
    records = grading.grade(course, assignment, submitted, out=course.grading, force=True)
    click.echo("")
    click.echo(grading.table(records))
    click.echo(f"\nGradebook: {course.grading / 'gradebook.db'}")
    click.echo(f"Feedback:  {course.grading / 'feedback'}/<student>/{assignment}/feedback.html")


@main.command()
@click.argument("assignment", callback=_assignment)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Default: <gradebook's folder>/report/<assignment>/.")
@click.option("--gradebook", "db", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Default: grading/gradebook.db.")
@click.option("--results", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Result records (default: results/ next to the gradebook).")
@click.option("--submitted", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="nbgrader course folder whose submitted/*/<assignment>/timestamp.txt give the "
              "submission times (default: the times the gradebook recorded).")
@click.pass_context
def report(ctx, assignment, out, db, results, submitted):
    """A class report: scores, pass rate and discrimination per test, failures, run times, late work."""
    from dlcourse import report as reporting

    try:
        click.echo(reporting.report(_course(ctx), assignment, gradebook=db, results=results,
                                    submitted=submitted, out=out))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.argument("assignment", callback=_assignment)
@click.argument("course_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Default: grading/similarity/<assignment>/.")
@click.option("--threshold", default=0.5, show_default=True, help="List pairs at or above this similarity.")
@click.pass_context
def similarity(ctx, assignment, course_dir, out, threshold):
    """Pairs of submissions whose own code overlaps (copydetect), for a person to review."""
    from dlcourse import similarity as sim

    course = _course(ctx)
    path, pairs = sim.run(course, assignment, course_dir, out or course.grading / "similarity" / assignment,
                          threshold=threshold)
    for p in pairs[:10]:
        click.echo(f"{p.similarity:6.0%}  {p.a}  {p.b}")
    click.echo(path)


@main.group()
def bundle():
    """Generate what is handed out."""


@bundle.command("student")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--classroom", is_flag=True, help="Also include the GitHub Classroom template.")
@click.option("--no-wheel", is_flag=True, help="Source only (no wheel in dist/).")
@click.pass_context
def bundle_student(ctx, out, classroom, no_wheel):
    """The student package: release notebooks, `dlcourse check`, limits; no graders, checked."""
    from dlcourse import bundle as bundling

    try:
        click.echo(bundling.write(_course(ctx), out, classroom=classroom, wheel=not no_wheel))
    except (bundling.Leak, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def export():
    """Export an assignment's autograder for other tools."""


@export.command("canvas")
@click.argument("assignments", nargs=-1, required=True, callback=_assignment)
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="CSV: student,name,id,sis_user_id,sis_login_id,section (student = dlcourse id).")
@click.option("--gradebook", "db", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Default: grading/gradebook.db.")
@click.option("--column", "columns", multiple=True, help="Canvas column name per assignment, e.g. "
              "'Module 1 (1234)' to match an existing Canvas assignment (default: its name).")
@click.option("--missing", default="", help="Score for a listed student with no submission "
              "(default: empty, which Canvas leaves unchanged).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@click.pass_context
def export_canvas(ctx, assignments, roster, db, columns, missing, out):
    """The CSV Canvas's gradebook import reads, from the gradebook and a roster."""
    import sys

    from dlcourse.exports import canvas

    db = db or _course(ctx).grading / "gradebook.db"
    try:
        text, unlisted = canvas.export(db, list(assignments), roster, columns=list(columns) or None,
                                       missing=missing)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if unlisted:
        click.echo(f"not in the roster (left out): {', '.join(unlisted)}", err=True)
    if out:
        out.write_text(text, encoding="utf-8")
        click.echo(out)
    else:
        sys.stdout.write(text)


@export.command("otter")
@click.argument("assignment", callback=_assignment)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("grading/otter"),
              show_default=True, help="Folder for the zip.")
@click.pass_context
def export_otter(ctx, assignment, out):
    """An otter-grader autograder zip (for `otter run` and Gradescope) running the hidden graders."""
    from dlcourse.otter_export import export as build

    click.echo(build(_course(ctx), assignment, out))


@main.command()
@click.argument("notebook", type=click.Path(exists=True, path_type=Path))
@click.option("--all", "all_", is_flag=True,
              help="NOTEBOOK is a folder: check every assignment's notebook in it, one overview.")
@click.option("--assignment", help="Default: from the notebook's name.")
@click.option("--isolation", type=click.Choice(["auto", "bwrap", "rlimits"]), default="auto", show_default=True)
@click.pass_context
def check(ctx, notebook, all_, assignment, isolation):
    """Run your notebook as the grader will, with the visible tests only, and report each exercise."""
    from dlcourse import selfcheck
    from dlcourse.catalog import Catalog

    try:
        catalog = Catalog.find(ctx.obj)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    if all_:
        if not notebook.is_dir():
            raise click.BadParameter("with --all, give a folder", param_hint="NOTEBOOK")
        results = selfcheck.check_all(catalog, notebook, isolation, log=lambda m: click.echo(m, err=True))
        click.echo(selfcheck.render_all(results))
        ctx.exit(0 if all(selfcheck.passed(r) for r in results) else 1)
    if notebook.is_dir():
        raise click.BadParameter("give a notebook, or a folder with --all", param_hint="NOTEBOOK")
    try:
        result = selfcheck.check(catalog, notebook, assignment, isolation)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(selfcheck.render(result))
    ctx.exit(0 if selfcheck.passed(result) else 1)


@main.command()
@click.argument("assignment", callback=_assignment)
@click.argument("student")
@click.option("--hours", type=float, default=0, help="Extension in hours (0 removes it).")
@click.option("--days", type=float, default=0, help="Extension in days (added to --hours).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Where the gradebook is (default: grading/).")
@click.option("--db", metavar="URL", help="Gradebook as a SQLAlchemy URL (as for grade).")
@click.pass_context
def extend(ctx, assignment, student, hours, days, out, db):
    """Give a student more time (nbgrader's extension field); regrading applies it."""
    from dlcourse import course_config, gradebook
    from dlcourse.grade import valid_student_id

    course = _course(ctx)
    if not valid_student_id(student):
        raise click.BadParameter("not a valid student id", param_hint="STUDENT")
    url = gradebook.working_gradebook(course.gradebook, course_config.setting(
        course.root, "db", db) or Path(out or course.grading) / "gradebook.db")
    gradebook.grant_extension(url, assignment, student, hours + 24 * days)
    due = gradebook.due_for(url, assignment, student)
    click.echo(f"{student}: {assignment} due {due:%Y-%m-%d %H:%M} UTC" if due else
               f"{student}: extension of {hours + 24 * days:g} h recorded (no due date yet)")


def _hide_instructor_commands() -> None:
    """In the student package (no grader modules) only the student commands exist."""
    import importlib.util

    if importlib.util.find_spec("dlcourse.grade") is None:
        for name in list(main.commands):
            if name not in ("check", "data"):
                main.commands.pop(name)


_hide_instructor_commands()
