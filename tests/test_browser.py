"""The feedback page, the class report and the similarity report in headless Chromium: no
console error, the figures load, the text a reader needs is there, and nothing a student wrote
ran as script. ``DLCOURSE_SCREENSHOTS=docs/screenshots pytest tests/test_browser.py`` refreshes the
screenshots the README shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chromium import CHROMIUM, Chromium
from conftest import dlcourse, full_points, submit
from dlcourse import feedback
from dlcourse.exercises import course_outline
from dlcourse.notebook import read
from test_feedback import A, evil_record, graded  # noqa: F401 (fixtures)
from test_report import A as REPORT_A
from test_report import hand_built_class  # noqa: F401 (fixture)
from test_similarity import classroom  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (scripts/setup.sh installs Debian's chromium as root)",
)

PAYLOAD = "pwned"
NOTHING_RAN = (
    "document.title.indexOf('pwned') !== 0 && window.pwned === undefined "
    "&& document.querySelectorAll('script, [onerror]').length === 0"
)


@pytest.fixture(scope="module")
def browser():
    b = Chromium()
    yield b
    b.close()


def _keep(browser, name: str, tmp_path: Path) -> None:
    shot = browser.screenshot(tmp_path / name)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    folder = os.environ.get("DLCOURSE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(shot.read_bytes())


def _text(browser) -> str:
    return browser.eval("document.body.innerText")


def test_the_checks_see_scripts_errors_and_broken_images(browser, tmp_path):
    """Not vacuous: a page whose script runs, logs an error and has a broken image fails them."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><title>t</title><img id=i src='missing.png'>"
        "<script>document.title='pwned'; window.pwned = 1; console.error('boom')</script>"
    )
    browser.open(page)
    assert not browser.eval(NOTHING_RAN)
    errors = browser.errors()
    assert any("boom" in e for e in errors) and len(errors) >= 2, errors
    assert browser.eval("document.getElementById('i').naturalWidth") == 0


@pytest.mark.slow
def test_feedback_page_in_chromium(browser, graded, tmp_path):  # noqa: F811
    browser.open(graded / "feedback" / "partial" / A / "feedback.html")
    assert browser.errors() == []
    text = _text(browser)
    for needed in ("Fix this first", "Exercise 1 — ", f"/ {full_points(A):g}", "To fix", "Passed"):
        assert needed in text, needed
    assert browser.eval("document.querySelectorAll('li.failed-test').length") > 0
    _keep(browser, "feedback.png", tmp_path)


@pytest.mark.slow
def test_hostile_feedback_runs_nothing_in_chromium(browser, graded, course, tmp_path):  # noqa: F811
    page = tmp_path / "evil.html"
    page.write_text(feedback.render(evil_record(), course_outline(course, A)))
    for path in (page, graded / "feedback" / "hostile" / A / "feedback.html"):
        browser.open(path)
        assert browser.errors() == [], path
        assert browser.eval(NOTHING_RAN), path
        text = _text(browser)
        assert "<script>document.title='pwned'" in text and "\\x1b" in text  # shown as text


@pytest.mark.slow
def test_class_report_in_chromium(browser, hand_built_class, tmp_path):  # noqa: F811
    out = tmp_path / "report"
    dlcourse(
        "report",
        REPORT_A,
        "--gradebook",
        str(hand_built_class / "grading" / "gradebook.db"),
        "--submitted",
        str(hand_built_class),
        "--out",
        str(out),
    )
    browser.open(out / "report.html")
    assert browser.errors() == []
    images = browser.eval(
        "Array.from(document.images).map(i => [i.id, i.complete, i.naturalWidth])"
    )
    assert [i[0] for i in images] == ["fig-histogram", "fig-pass-rates", "fig-times"]
    assert all(complete and width > 300 for _, complete, width in images), images
    assert browser.eval(NOTHING_RAN)
    text = _text(browser)
    for needed in (
        "Tests, hardest first",
        "suspect: stronger students fail it more often",
        "Most frequent failure messages",
        "Late submissions",
        "1 day, 1:30:00",
    ):
        assert needed in text, needed
    _keep(browser, "report.png", tmp_path)


@pytest.mark.slow
def test_similarity_report_in_chromium(browser, classroom, tmp_path):  # noqa: F811
    notebook = classroom / "submitted" / "dave" / A / f"{A}.ipynb"
    nb = read(notebook)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "gradient":
            cell.source += "\n# </pre><script>document.title='pwned'</script>\x1b[2J\n"
    submit(classroom, "dave", A, nb)
    out = tmp_path / "similarity"
    dlcourse("similarity", A, str(classroom), "--out", str(out), "--threshold", "0.0")
    browser.open(out / "similarity.html")
    assert browser.errors() == []
    assert browser.eval(NOTHING_RAN)
    assert browser.eval("document.querySelectorAll('mark').length") > 5
    text = _text(browser)
    assert "alice · bob" in text and "for a person to read and judge" in text
    assert "<script>document.title='pwned'" in text  # dave's comment, shown as text
    browser.eval("window.scrollTo(0, 0)")
    _keep(browser, "similarity.png", tmp_path)
