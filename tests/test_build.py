"""source/ is the single source of truth: release/, solutions/ and gradebook.db follow it,
and nothing of the solutions or the hidden graders reaches what students receive."""

import ast
import re
import sqlite3
from pathlib import Path

import pytest

from conftest import ROOT
from dlcourse import build
from dlcourse.course import Course
from dlcourse.grade import list_tests
from dlcourse.notebook import grade_cells, nbgrader_meta, read

ASSIGNMENTS = Course(ROOT).assignments()
REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.S | re.M)


@pytest.mark.slow
def test_release_and_gradebook_are_up_to_date(course):
    assert build.stale_release(course) == [], "run `dlcourse release` and commit the result"


def test_solutions_have_the_source_cells(course):
    assert build.stale_solutions(course) == [], "run `dlcourse release` and commit solutions/"


def test_solutions_are_executed(course):
    for assignment in ASSIGNMENTS:
        nb = read(course.solution_notebook(assignment))
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), (
            f"{assignment}: solutions/ has unexecuted cells"
        )
        assert not [o for c in code for o in c.outputs if o.output_type == "error"]


@pytest.mark.slow
def test_release_build_is_deterministic(course, tmp_path):
    first = build.generate_release(course, tmp_path / "a")
    second = build.generate_release(course, tmp_path / "b")
    assert build._tree_differences(first / "release", second / "release") == []


def test_committed_gradebook_holds_no_student_data(course):
    with sqlite3.connect(f"file:{course.gradebook}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT COUNT(*) FROM student").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM submitted_assignment").fetchone() == (0,)
        names = {row[0] for row in conn.execute("SELECT name FROM assignment")}
    assert names == set(ASSIGNMENTS)


def _stub(source: str) -> str:
    """What nbgrader leaves of a solution cell: each region becomes the configured stub."""

    def repl(match):
        indent = re.match(r"[ \t]*", match.group(0)).group(0)
        return f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError()\n"

    return REGION.sub(repl, source)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_no_solution_code(course, assignment):
    source = read(course.source_notebook(assignment))
    released = read(course.release_notebook(assignment))
    text = course.release_notebook(assignment).read_text()
    by_id = {nbgrader_meta(c).get("grade_id"): c for c in released.cells}
    outside = REGION.sub("", "\n".join(c.source for c in source.cells))
    for cell in source.cells:
        if not nbgrader_meta(cell).get("solution") or cell.cell_type != "code":
            continue
        mine = by_id[nbgrader_meta(cell)["grade_id"]]
        # AST: the released cell is exactly the source cell with every region stubbed out
        assert ast.dump(ast.parse(mine.source)) == ast.dump(ast.parse(_stub(cell.source)))
        assert not mine.outputs
        # strings: no distinctive line of any solution region appears anywhere in the release
        for region in REGION.findall(cell.source):
            for line in region.splitlines()[1:-1]:
                line = line.strip()
                if len(line) >= 16 and line not in outside:
                    assert line not in text, f"solution line leaked into the release: {line}"


def _grader_fingerprints(course) -> tuple[set[str], set[str]]:
    """Names of hidden tests and probes, and the code lines of the graders (not their messages)."""
    names, lines = set(), set()
    for path in course.autograder.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names |= {
            n.name
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
        }
        strings = {
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
        for line in path.read_text().splitlines():
            line = line.strip()
            if (
                len(line) >= 30
                and not line.startswith(("#", '"', 'f"', "'"))
                and not any(s in line for s in strings if len(s) > 10)
            ):
                lines.add(line)
    return names, lines


def _text(path: Path) -> str:
    """A notebook's cell sources and text outputs, decoded (not JSON-escaped)."""
    nb = read(path)
    parts = [c.source for c in nb.cells]
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def test_no_grader_code_in_student_artifacts(course):
    names, lines = _grader_fingerprints(course)
    sources = "\n".join(_text(p) for p in course.source.rglob("*.ipynb"))
    lines = {
        line for line in lines if line not in sources
    }  # shared with the lesson itself: not a leak
    assert names and lines
    for folder in (course.release, course.solutions):
        for path in folder.rglob("*.ipynb"):
            text = _text(path)
            leaked = [n for n in names if re.search(rf"\b{n}\b", text)] + [
                line for line in lines if line in text
            ]
            assert not leaked, (
                f"{path.relative_to(course.root)} contains hidden grader code: {leaked[:3]}"
            )


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_grade_cell_points_equal_grader_points(course, assignment):
    declared = grade_cells(read(course.source_notebook(assignment)))
    summed: dict[str, float] = {}
    for test in list_tests(course, assignment):
        summed[test["cell"]] = summed.get(test["cell"], 0.0) + test["max_points"]
    assert summed == declared


# --- Markdown cells: plain text and LaTeX that renders -----------------------------------

_CODE_SPAN = re.compile(r"```.*?```|`[^`\n]*`", re.S)
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$", re.S)
# KaTeX (what Jupyter renders) knows a few macros matplotlib's mathtext lacks; each is mapped to
# the mathtext construct that draws the same thing, so only the parse is checked, not the taste.
_KATEX_TO_MATHTEXT = [
    (re.compile(r"\\[Bb]igg?[lr]?(?![A-Za-z])"), ""),  # delimiter sizes
    (re.compile(r"\\(?:underbrace|overbrace)(?![A-Za-z])"), ""),
    (re.compile(r"\\([lg]e)(?![A-Za-z])"), r"\\\1q"),  # \le -> \leq
    (re.compile(r"\\[td]frac(?![A-Za-z])"), r"\\frac"),
    (re.compile(r"\\[lr]Vert(?![A-Za-z])"), r"\\Vert"),
    (re.compile(r"\\texttt(?![A-Za-z])"), r"\\mathtt"),
    (re.compile(r"\\operatorname(?![A-Za-z])"), r"\\mathrm"),
    # TeX's one-token arguments: \frac12 -> \frac{1}{2}, \sqrt 2 -> \sqrt{2}
    (re.compile(r"\\frac\s*([0-9A-Za-z])\s*([0-9A-Za-z])"), r"\\frac{\1}{\2}"),
    (re.compile(r"\\sqrt\s*([0-9A-Za-z])"), r"\\sqrt{\1}"),
]


def _markdown_cells():
    for folder in ("source", "release", "solutions"):
        for path in sorted((ROOT / folder).glob("*/*.ipynb")):
            for index, cell in enumerate(read(path).cells):
                if cell.cell_type == "markdown":
                    yield f"{path.relative_to(ROOT)} cell {index}", cell.source


def _math_spans(markdown: str) -> list[str]:
    """The LaTeX of every $...$ and $$...$$ outside code spans."""
    return [m.group(1) or m.group(2) for m in _MATH.finditer(_CODE_SPAN.sub("", markdown))]


def test_markdown_has_no_control_characters():
    """A TAB or other control character in markdown is a typo (often "\\t" of "\\text" in a
    non-raw Python string): Jupyter shows it as a blank and the LaTeX around it breaks."""
    import unicodedata

    bad = [
        (where, repr(ch))
        for where, text in _markdown_cells()
        for ch in text
        if ch != "\n" and unicodedata.category(ch) == "Cc"
    ]
    assert not bad, f"control characters in markdown cells: {sorted(set(bad))[:10]}"


def test_markdown_latex_parses():
    """Every formula in a markdown cell parses with matplotlib's mathtext (after mapping the
    few KaTeX macros mathtext lacks), so none renders as red error text in Jupyter."""
    from matplotlib.mathtext import MathTextParser

    parser = MathTextParser("path")
    broken = []
    for where, text in _markdown_cells():
        for expr in _math_spans(text):
            mathtext = expr
            for pattern, replacement in _KATEX_TO_MATHTEXT:
                mathtext = pattern.sub(replacement, mathtext)
            try:
                parser.parse(f"${' '.join(mathtext.split())}$")
            except Exception as error:  # mathtext raises pyparsing's and its own errors
                broken.append(
                    f"{where}: ${expr.strip()[:60]}$ ({str(error).splitlines()[-1][:80]})"
                )
    assert not broken, "LaTeX that does not parse:\n" + "\n".join(broken[:20])


def test_latex_checker_rejects_broken_formulas():
    """The two checks above catch what they are for: a TAB, an unknown macro, an open brace."""
    from matplotlib.mathtext import MathTextParser

    assert _math_spans("cost `$x$` and $a$ and $$b$$") == ["a", "b"]
    parser = MathTextParser("path")
    for broken in (r"\frac{1}{2", r"\nosuchmacro x", r"x^{2"):
        with pytest.raises(ValueError):
            parser.parse(f"${broken}$")
