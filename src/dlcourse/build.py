"""source/ → release/ (nbgrader generate_assignment) and solutions/ (the source, executed).

The release is built in a scratch copy of the course and then synced, so a build that fails
half-way never leaves a half-written release, and the same function tells whether the
committed release is stale. gradebook.db is rewritten only when what it says changes
(nbgrader gives its rows fresh random ids on every build).
"""

from __future__ import annotations

import fcntl
import filecmp
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from dlcourse.course import Course
from dlcourse.gradebook import gradebook_summary
from dlcourse.notebook import read

EXECUTE_SECONDS = 900


def venv_on_path() -> None:
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def generate_release(course: Course, out: Path) -> Path:
    """Run nbgrader's generate_assignment for every assignment in a scratch course at ``out``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    venv_on_path()  # nbgrader runs `alembic` from the environment it is installed in
    shutil.copytree(
        course.source, out / "source", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    shutil.copy(course.root / "nbgrader_config.py", out / "nbgrader_config.py")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(out)).load_config()
    coursedir = CourseDirectory(config=config, root=str(out))
    api = NbGraderAPI(coursedir=coursedir, config=config)
    for assignment in course.assignments():
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(
                f"nbgrader generate_assignment {assignment} failed:\n{result['log']}\n"
                f"{result.get('error', '')}"
            )
    return out


def _tree_differences(built: Path, committed: Path) -> list[str]:
    """Relative paths that differ between two folders (added, removed or changed)."""
    cmp = filecmp.dircmp(built, committed, ignore=[".ipynb_checkpoints", "__pycache__"])
    out = [str(Path(cmp.left).relative_to(built) / n) for n in cmp.left_only + cmp.right_only]
    out += [
        str(Path(cmp.left).relative_to(built) / n)
        for n in cmp.common_files
        if not filecmp.cmp(Path(cmp.left) / n, Path(cmp.right) / n, shallow=False)
    ]
    for sub in cmp.common_dirs:
        out += [str(Path(sub) / d) for d in _tree_differences(built / sub, committed / sub)]
    return sorted(out)


def stale_release(course: Course) -> list[str]:
    """What in release/ and gradebook.db does not match a fresh build from source/."""
    with tempfile.TemporaryDirectory() as tmp:
        built = generate_release(course, Path(tmp))
        if not course.release.is_dir():
            return ["release/"]
        stale = [f"release/{p}" for p in _tree_differences(built / "release", course.release)]
        if gradebook_summary(built / "gradebook.db") != gradebook_summary(course.gradebook):
            stale.append("gradebook.db")
        return stale


def release(course: Course, log=print) -> list[str]:
    """Regenerate release/ and gradebook.db from source/; return what changed."""
    with open(course.root / ".release.lock", "w") as lock, tempfile.TemporaryDirectory() as tmp:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time writes release/ and gradebook.db
        built = generate_release(course, Path(tmp))
        changed = (
            [f"release/{p}" for p in _tree_differences(built / "release", course.release)]
            if course.release.is_dir()
            else ["release/"]
        )
        if changed:
            staging = course.root / ".release.new"
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(built / "release", staging)
            shutil.rmtree(course.release, ignore_errors=True)
            staging.rename(course.release)
        if gradebook_summary(built / "gradebook.db") != gradebook_summary(course.gradebook):
            shutil.copy(built / "gradebook.db", course.gradebook)
            changed.append("gradebook.db")
    for path in changed:
        log(f"updated {path}")
    return changed


def execute_solution(course: Course, assignment: str, log=print) -> Path:
    """Run the source notebook top to bottom in a fresh kernel; save it under solutions/."""
    from nbclient import NotebookClient

    nb = read(course.source_notebook(assignment))
    with tempfile.TemporaryDirectory() as cwd:
        NotebookClient(
            nb,
            timeout=EXECUTE_SECONDS,
            kernel_name="python3",
            resources={"metadata": {"path": cwd}},
        ).execute()
    out = course.solution_notebook(assignment)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out))
    log(f"executed {out.relative_to(course.root)}")
    return out


def _cells(nb) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def stale_solutions(course: Course) -> list[str]:
    """Solution notebooks whose cells differ from the source's (outputs aside)."""
    stale = []
    for assignment in course.assignments():
        path = course.solution_notebook(assignment)
        if not path.is_file() or _cells(read(path)) != _cells(
            read(course.source_notebook(assignment))
        ):
            stale.append(str(path.relative_to(course.root)))
    return stale
