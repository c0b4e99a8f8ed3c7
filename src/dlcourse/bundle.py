"""`dlcourse bundle student OUT/`: what students receive, generated and checked for leaks.

The bundle holds the release notebooks, the part of the ``dlcourse`` package that ``check``
and the data loader need (as source and as a wheel), the catalog of each assignment's limits,
exercises and required names (``dlcourse/course.json``), a student README and, with
``--classroom``, the GitHub Classroom template. It holds no hidden grader, probe, solution,
test name or test-split data: :func:`audit` scans every file (and the wheel's contents) for
them, and the bundle is not written unless the scan is clean.
"""

from __future__ import annotations

import ast
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

from jinja2 import Environment, PackageLoader

from dlcourse import catalog
from dlcourse.course import Course
from dlcourse.data import raw_folder

# modules students run, and what they import at module level (found by following imports)
SEEDS = ("__init__", "__main__", "cli", "selfcheck", "data", "worker", "protocol")
STUDENT_DEPENDENCIES = {
    "torch",
    "torchvision",
    "jupyter",
    "ipykernel",
    "nbformat",
    "matplotlib",
    "click",
    "tqdm",
}
MIN_LINE = 16  # shorter lines (``return x``, ``import torch``) say nothing about a solution
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


class Leak(RuntimeError):
    """The bundle would give students something of the graders."""


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body  # module level only: imports inside functions are lazy (cli's commands)
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "dlcourse":
                found |= {a.name for a in node.names}
            elif node.module.startswith("dlcourse."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("dlcourse.")}
    return found


def student_modules(package: Path) -> list[str]:
    """The seeds and every module they import at module level."""
    todo, seen = list(SEEDS), set()
    while todo:
        name = todo.pop()
        if name in seen or not (package / f"{name}.py").is_file():
            continue
        seen.add(name)
        todo += sorted(_imports(package / f"{name}.py"))
    return sorted(seen)


def _pyproject(course: Course) -> str:
    with open(course.root / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    deps = [
        d
        for d in project["dependencies"]
        if re.split(r"[\[<>=!~ ]", d, maxsplit=1)[0] in STUDENT_DEPENDENCIES
    ]
    return "\n".join(
        [
            "[build-system]",
            'requires = ["setuptools>=61"]',
            'build-backend = "setuptools.build_meta"',
            "",
            "[project]",
            'name = "dlcourse"',
            f'version = "{project["version"]}"',
            'description = "Deep Learning with PyTorch, the student package: data, check"',
            'readme = "README.md"',
            f'requires-python = "{project["requires-python"]}"',
            "dependencies = [",
            *(f'    "{d}",' for d in deps),
            "]",
            "",
            "[project.scripts]",
            'dlcourse = "dlcourse.cli:main"',
            "",
            "[tool.setuptools.package-data]",
            'dlcourse = ["course.json", "templates/*.j2"]',
            "",
            "[tool.setuptools.packages.find]",
            'where = ["src"]',
            "",
        ]
    )


def _readme(course: Course, info: dict, classroom: bool) -> str:
    env = Environment(
        loader=PackageLoader("dlcourse", "templates"),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("student_readme.md.j2").render(
        assignments=info["assignments"], classroom=classroom
    )


def _build_wheel(out: Path) -> Path:
    """Build the package's wheel from a scratch copy (no build folders left in the bundle)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "pkg"
        work.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(out / name, work / name)
        shutil.copytree(out / "src", work / "src")
        dist = Path(tmp) / "dist"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "--no-index",
                "--no-build-isolation",
                "-w",
                str(dist),
                str(work),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"building the student wheel failed:\n{done.stdout}{done.stderr}"[-3000:]
            )
        (wheel,) = dist.glob("*.whl")
        (out / "dist").mkdir()
        return Path(shutil.copy(wheel, out / "dist" / wheel.name))


def write(course: Course, out: Path, classroom: bool = False, wheel: bool = True) -> Path:
    """Write the student bundle to ``out`` (which must not exist or be empty), audited."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    info = catalog.build(course)
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        stage = Path(tmp) / "bundle"
        package = Path(__file__).resolve().parent
        target = stage / "src" / "dlcourse"
        target.mkdir(parents=True)
        for name in student_modules(package):
            shutil.copy(package / f"{name}.py", target / f"{name}.py")
        (target / catalog.PACKAGED).write_text(json.dumps(info, indent=1), encoding="utf-8")
        for assignment in info["assignments"]:
            dest = stage / "assignments" / assignment / course.notebook_name(assignment)
            dest.parent.mkdir(parents=True)
            shutil.copy(course.release_notebook(assignment), dest)
        if classroom:
            shutil.copytree(course.root / "classroom", stage / "classroom")
        (stage / "pyproject.toml").write_text(_pyproject(course), encoding="utf-8")
        (stage / "README.md").write_text(_readme(course, info, classroom), encoding="utf-8")
        if wheel:
            _build_wheel(stage)
        problems = audit(course, stage)
        if problems:
            raise Leak("the student bundle would leak:\n  " + "\n  ".join(problems[:20]))
        out.mkdir(parents=True, exist_ok=True)
        for item in stage.iterdir():
            shutil.move(str(item), out / item.name)
    return out


# --- the leak scan ------------------------------------------------------------------------


QUOTED_NAME = re.compile(r"""(["'])[A-Za-z_][A-Za-z0-9_]*\1,?""")


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if len(line.strip()) >= MIN_LINE}


def secrets(course: Course) -> dict[str, set]:
    """What must not reach students: solution lines, grader lines, probe and test names, and a
    piece of the hidden test split's labels."""
    public = set()
    for assignment in course.assignments():
        public |= _lines(course.release_notebook(assignment).read_text(encoding="utf-8"))
    release_text = "\n".join(
        course.release_notebook(a).read_text(encoding="utf-8") for a in course.assignments()
    )
    package = Path(__file__).resolve().parent
    for name in student_modules(package):
        public |= _lines((package / f"{name}.py").read_text(encoding="utf-8"))
    solution, grader, names = set(), set(), set()
    for assignment in course.assignments():
        nb = json.loads(course.source_notebook(assignment).read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for block in SOLUTION.findall(source):
                solution |= _lines(block)
        for path in sorted(course.graders(assignment).glob("*.py")):
            text = path.read_text(encoding="utf-8")
            # a line that is only a quoted name (a formatted call's argument) names part of the
            # students' own interface, which the catalog lists on purpose: not a grader's secret
            grader |= {line for line in _lines(text) if not QUOTED_NAME.fullmatch(line)}
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(node.name)
    names = {
        n for n in names if len(n) >= 6 and not re.search(rf"\b{re.escape(n)}\b", release_text)
    }
    labels = raw_folder() / "t10k-labels-idx1-ubyte"
    split = {labels.read_bytes()[8:72]} if labels.is_file() else set()
    return {
        "solution line": solution - public,
        "grader line": grader - public,
        "probe or test name": names,
        "test-split labels": split,
    }


def _files(folder: Path):
    """(name, bytes) of every file, and of every file inside a wheel or zip."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        rel = str(path.relative_to(folder))
        yield rel, data
        if path.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for member in zf.namelist():
                    yield f"{rel}!{member}", zf.read(member)


def audit(course: Course, folder: Path) -> list[str]:
    """Every place in ``folder`` where something of :func:`secrets` appears."""
    found = []
    secret = secrets(course)
    name_pattern = (
        re.compile(r"\b(" + "|".join(map(re.escape, sorted(secret["probe or test name"]))) + r")\b")
        if secret["probe or test name"]
        else None
    )
    for rel, data in _files(folder):
        if rel.split("!")[-1].startswith(("autograder/", "source/", "solutions/")):
            found.append(f"{rel}: a course-only folder")
        for piece in secret["test-split labels"]:
            if piece in data:
                found.append(f"{rel}: test-split labels (of the hidden MNIST test split)")
        text = data.decode("utf-8", errors="replace")
        if "\n" in text or len(text) < 10_000_000:
            lines = _lines(text.replace("\\n", "\n").replace('\\"', '"'))
            for kind in ("solution line", "grader line"):
                for line in sorted(lines & secret[kind])[:3]:
                    found.append(f"{rel}: {kind} {line[:80]!r}")
        if name_pattern:
            for match in sorted(set(name_pattern.findall(text)))[:3]:
                found.append(f"{rel}: probe or test name {match!r}")
    return found
