"""The ``dlcourse`` command: data, release, grade, demo."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dlcourse.course import ASSIGNMENTS, Course, parse_limits


@click.group()
@click.option("--course", "course_root", type=click.Path(file_okay=False, path_type=Path),
              help="Course root (default: the checkout around the current folder).")
@click.pass_context
def main(ctx, course_root):
    """Deep Learning with PyTorch: build, grade and give feedback."""
    ctx.obj = course_root


def _course(ctx) -> Course:
    return Course(ctx.obj)


@main.command()
def data():
    """Fetch and verify MNIST into the cache ($DLCOURSE_DATA or ~/.cache/dlcourse)."""
    from dlcourse.data import ensure_mnist, raw_folder

    root = ensure_mnist()
    click.echo(f"MNIST ready in {raw_folder(root)}")


@main.command()
@click.option("--solutions/--no-solutions", default=True, help="Also re-execute the solution notebooks.")
@click.argument("assignments", nargs=-1, type=click.Choice(ASSIGNMENTS))
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
@click.argument("assignment", type=click.Choice(ASSIGNMENTS))
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
@click.option("--json", "as_json", is_flag=True, hidden=True,
              help="Deprecated: use --format json (kept for one release).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "gradescope"]), default="table",
              show_default=True, help="gradescope: print Gradescope's results.json for one notebook, or "
              "write <out>/gradescope/<student>/results.json for a folder.")
@click.option("--seed", type=int, help="Base seed of the hidden tests (each test's seed is derived from "
              "it and recorded); default: drawn at random.")
@click.option("--replay", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A results JSON file (one record or a list): rerun with the seeds it recorded.")
@click.pass_context
def grade(ctx, assignment, path, student, out, workers, force, isolation, limit_pairs, as_json, fmt,
          seed, replay):
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
                                seed=seed, replay=replayed)
    except grading.GradingStopped as stopped:
        if stopped.records:
            click.echo(grading.table(stopped.records), err=True)
        click.echo(f"dlcourse: stopped; {len(stopped.records)} submission(s) graded and recorded, "
                   f"{stopped.remaining} not. Run the same command again to grade the rest "
                   "(graded submissions are skipped).", err=True)
        ctx.exit(128 + int(stopped.signum))
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    single = path.suffix == ".ipynb" or path.is_file()
    if fmt == "json":
        public = [grading.public(r) for r in records]
        click.echo(json.dumps(public[0] if single and len(public) == 1 else public, indent=1))
    elif fmt == "gradescope" and single:
        click.echo(json.dumps(grading.gradescope(records[0]), indent=1))
    elif fmt == "gradescope":
        for record in records:
            target = Path(out or course.grading) / "gradescope" / record["student"] / "results.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(grading.gradescope(record), indent=1))
            click.echo(target)
    else:
        click.echo(grading.table(records))


@main.command()
@click.option("--assignment", type=click.Choice(ASSIGNMENTS), default=ASSIGNMENTS[0], show_default=True)
@click.pass_context
def demo(ctx, assignment):
    """Build the release, then grade a demo class (solution, untouched release, partial work)."""
    from dlcourse import build, demo as demo_class, grade as grading

    course = _course(ctx)
    build.release(course, log=click.echo)
    submitted = demo_class.build_class(course, assignment, course.grading / "demo")
    records = grading.grade(course, assignment, submitted, out=course.grading, force=True)
    click.echo("")
    click.echo(grading.table(records))
    click.echo(f"\nGradebook: {course.grading / 'gradebook.db'}")
    click.echo(f"Feedback:  {course.grading / 'feedback'}/<student>/{assignment}/feedback.html")


@main.group()
def export():
    """Export an assignment's autograder for other tools."""


@export.command("otter")
@click.argument("assignment", type=click.Choice(ASSIGNMENTS))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("grading/otter"),
              show_default=True, help="Folder for the zip.")
@click.pass_context
def export_otter(ctx, assignment, out):
    """An otter-grader autograder zip (for `otter run` and Gradescope) running the hidden graders."""
    from dlcourse.otter_export import export as build

    click.echo(build(_course(ctx), assignment, out))


@main.command()
@click.argument("notebook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--assignment", type=click.Choice(ASSIGNMENTS), help="Default: from the notebook's name.")
@click.option("--isolation", type=click.Choice(["auto", "bwrap", "rlimits"]), default="auto", show_default=True)
@click.pass_context
def check(ctx, notebook, assignment, isolation):
    """Run your notebook as the grader will, with the visible tests only, and report each exercise."""
    from dlcourse import check as checking

    result = checking.check(_course(ctx), notebook, assignment, isolation)
    click.echo(checking.render(result))
    if result.get("error") or any(e["state"] != "done" for e in result.get("exercises", [])):
        ctx.exit(1)
