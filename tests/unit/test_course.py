"""dlcourse.course: assignments discovered from source/, grading limits, command-line overrides,
and the CLI's check of assignment names against the course it finds at run time."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlcourse import cli
from dlcourse.course import Course, Limits, find_root, parse_limits

ROOT = Path(__file__).resolve().parents[2]


def make_course(root: Path, names, *, notebooks=None) -> Course:
    """A course folder whose source/ holds ``<name>/<name>.ipynb`` for each name."""
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    for name in names:
        folder = root / "source" / name
        folder.mkdir(parents=True)
        for notebook in (notebooks or {}).get(name, [f"{name}.ipynb"]):
            (folder / notebook).write_text("{}")
    return Course(root)


# --- assignments ------------------------------------------------------------------------


def test_the_course_has_its_six_assignments_in_order():
    assert Course(ROOT).assignments() == [
        "01_logistic_regression",
        "02_softmax_regression",
        "03_shallow_networks",
        "04_deep_networks",
        "05_convolutional_networks",
        "06_mnist_cnn_project",
    ]


def test_assignments_are_the_source_folders_holding_their_notebook_sorted_by_name(tmp_path):
    course = make_course(
        tmp_path,
        ["10_later", "02_second", "01_first", "03_no_notebook", "04_other_name", ".hidden"],
        notebooks={"03_no_notebook": [], "04_other_name": ["lesson.ipynb"]},
    )
    (tmp_path / "source" / "05_a_file.ipynb").write_text("{}")
    (tmp_path / "source" / "06_link").symlink_to(tmp_path / "source" / "01_first")
    assert course.assignments() == ["01_first", "02_second", "10_later"]


def test_a_seventh_assignment_needs_only_its_folder(tmp_path):
    course = make_course(tmp_path, ["01_a", "02_b"])
    assert course.assignments() == ["01_a", "02_b"]
    (tmp_path / "source" / "07_new").mkdir()
    (tmp_path / "source" / "07_new" / "07_new.ipynb").write_text("{}")
    assert course.assignments() == ["01_a", "02_b", "07_new"]
    assert course.require("07_new") == "07_new"


def test_a_course_without_source_has_no_assignments(tmp_path):
    assert Course(tmp_path).assignments() == []


def test_an_unknown_assignment_is_refused_with_the_list(tmp_path):
    course = make_course(tmp_path, ["01_a", "02_b"])
    with pytest.raises(ValueError, match=r"unknown assignment '03_c'; this course has: 01_a, 02_b"):
        course.require("03_c")


def test_paths_of_an_assignment(tmp_path):
    course = make_course(tmp_path, ["01_a"])
    assert course.source_notebook("01_a") == tmp_path / "source" / "01_a" / "01_a.ipynb"
    assert course.release_notebook("01_a") == tmp_path / "release" / "01_a" / "01_a.ipynb"
    assert course.solution_notebook("01_a") == tmp_path / "solutions" / "01_a" / "01_a.ipynb"
    assert course.graders("01_a") == tmp_path / "autograder" / "01_a"


def test_the_root_is_found_from_a_folder_inside_it(tmp_path, monkeypatch):
    make_course(tmp_path, ["01_a"])
    inner = tmp_path / "source" / "01_a"
    monkeypatch.delenv("DLCOURSE_ROOT", raising=False)
    assert find_root(inner) == tmp_path.resolve()
    monkeypatch.setenv("DLCOURSE_ROOT", str(inner))
    assert find_root(tmp_path) == inner.resolve()


# --- the CLI checks names against the course it finds -----------------------------------


def check_with_cli(root: Path, value):
    return cli._assignment(click.Context(cli.main, obj=root), None, value)


def test_the_cli_accepts_any_assignment_of_the_course(tmp_path):
    make_course(tmp_path, ["01_a", "07_new"])
    assert check_with_cli(tmp_path, "07_new") == "07_new"
    assert check_with_cli(tmp_path, ("01_a", "07_new")) == ("01_a", "07_new")
    assert check_with_cli(tmp_path, ()) == ()
    assert check_with_cli(tmp_path, None) is None


def test_the_cli_refuses_an_unknown_assignment_listing_the_course(tmp_path):
    make_course(tmp_path, ["01_a", "02_b"])
    with pytest.raises(
        click.BadParameter, match="unknown assignment 'zz'; this course has: 01_a, 02_b"
    ):
        check_with_cli(tmp_path, ("01_a", "zz"))


def test_the_cli_names_the_course_s_assignments_on_a_wrong_name():
    from click.testing import CliRunner

    done = CliRunner().invoke(cli.main, ["--course", str(ROOT), "export", "otter", "07_nope"])
    assert done.exit_code == 2
    assert "unknown assignment '07_nope'" in done.output and "06_mnist_cnn_project" in done.output


# --- limits -----------------------------------------------------------------------------


def write_limits(course: Course, assignment: str, text: str):
    folder = course.graders(assignment)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "assignment.toml").write_text(text)


def test_limits_default_without_an_assignment_toml(tmp_path):
    assert make_course(tmp_path, ["01_a"]).limits("01_a") == Limits()


def test_limits_from_assignment_toml_then_overrides(tmp_path):
    course = make_course(tmp_path, ["01_a"])
    write_limits(course, "01_a", "[limits]\ncell_seconds = 7\nrestarts = 1\n")
    limits = course.limits("01_a")
    assert (limits.cell_seconds, limits.restarts) == (7, 1)
    assert limits.notebook_seconds == Limits().notebook_seconds
    assert course.limits("01_a", cell_seconds=2.5).cell_seconds == 2.5
    write_limits(course, "01_a", "# no [limits] table\n")
    assert course.limits("01_a") == Limits()


def test_every_assignment_of_the_course_has_sensible_limits():
    course = Course(ROOT)
    for assignment in course.assignments():
        limits = course.limits(assignment)
        assert 0 < limits.probe_seconds and 0 < limits.cell_seconds <= limits.notebook_seconds, (
            assignment
        )


def test_parse_limits_types_each_value_as_its_field():
    assert parse_limits(["cell_seconds=5", "restarts=2", "memory_mb=100"]) == {
        "cell_seconds": 5.0,
        "restarts": 2,
        "memory_mb": 100,
    }
    parsed = parse_limits(["cell_seconds=5", "restarts=2"])
    assert type(parsed["cell_seconds"]) is float and type(parsed["restarts"]) is int
    assert parse_limits(None) == {} and parse_limits([]) == {}
    assert parse_limits(["cell_seconds=1", "cell_seconds=2"]) == {"cell_seconds": 2.0}


@given(st.sampled_from([f.name for f in fields(Limits)]), st.integers(1, 10**6))
def test_parse_limits_round_trips_every_limit(name, value):
    parsed = parse_limits([f"{name}={value}"])
    assert parsed == {name: value}
    assert getattr(Limits(**parsed), name) == value


@pytest.mark.parametrize("pair", ["cel_seconds=5", "=5", "CELL_SECONDS=5"])
def test_parse_limits_refuses_unknown_names_listing_the_known_ones(pair):
    with pytest.raises(
        ValueError, match=r"unknown limit .*; known: notebook_seconds, cell_seconds"
    ):
        parse_limits([pair])


@pytest.mark.parametrize(
    "pair", ["cell_seconds=", "cell_seconds", "cell_seconds=fast", "restarts=1.5"]
)
def test_parse_limits_refuses_values_that_are_not_numbers(pair):
    with pytest.raises(ValueError):
        parse_limits([pair])


@pytest.mark.parametrize("pair", ["cell_seconds=0", "memory_mb=-5", "probe_seconds=-0.5"])
def test_parse_limits_refuses_limits_that_are_not_positive(pair):
    with pytest.raises(ValueError, match="must be positive"):
        parse_limits([pair])
