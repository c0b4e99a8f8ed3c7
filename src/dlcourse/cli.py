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
@click.option("--isolation", type=click.Choice(["auto", "rlimits"]), default="auto", show_default=True,
              help="How the student's code is contained.")
@click.option("--limit", "limit_pairs", multiple=True, metavar="NAME=SECONDS",
              help="Override a time limit of autograder/<assignment>/assignment.toml (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_context
def grade(ctx, assignment, path, student, out, workers, force, isolation, limit_pairs, as_json):
    """Grade a notebook, or a folder of submissions (nbgrader's submitted/<student>/<assignment>/)."""
    from dlcourse import grade as grading

    course = _course(ctx)
    try:
        limits = parse_limits(limit_pairs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--limit") from None
    records = grading.grade(course, assignment, path, student=student, out=out, isolation=isolation,
                            workers=workers, force=force, progress=not as_json, limits=limits)
    if as_json:
        public = [grading.public(r) for r in records]
        single = path.suffix == ".ipynb" or path.is_file()
        click.echo(json.dumps(public[0] if single and len(public) == 1 else public, indent=1))
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
