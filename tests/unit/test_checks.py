"""dlcourse.checks, the graders' helpers: what each accepts, and the messages it gives.

A message is what the student reads: it names the answer and what is wrong with it, and it
never carries the answer's values or an expected value computed by the judge.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlcourse import checks
from dlcourse.checks import GradeFailure, ProbeError


def failure(fn, *args, **kwargs) -> str:
    """The student-facing message of a check that must fail."""
    with pytest.raises(GradeFailure) as info:
        fn(*args, **kwargs)
    return str(info.value)


# --- expect, and what graders import ---------------------------------------------------


def test_expect_passes_silently_and_fails_with_the_message_verbatim():
    assert checks.expect(True, "unused") is None
    assert checks.expect(torch.tensor(True), "unused") is None
    assert failure(checks.expect, 0, "softmax's rows do not sum to 1") == (
        "softmax's rows do not sum to 1"
    )


def test_expect_raises_the_failure_type_the_plugin_shows_to_students():
    # GradeFailure is an AssertionError, so a plain `assert` in a grader is a failure too, and
    # ProbeError (the student's own error) is re-exported for graders from the same place.
    assert issubclass(GradeFailure, AssertionError)
    assert checks.ProbeError is ProbeError


def test_grade_is_the_pytest_marker_the_plugin_reads():
    @checks.grade(cell="test_cell", points=2)
    def test_something():
        pass

    (mark,) = test_something.pytestmark
    assert mark.name == "grade" and mark.kwargs == {"cell": "test_cell", "points": 2}


# --- seeds ------------------------------------------------------------------------------


@given(st.integers(0, 2**63 - 1))
def test_rng_is_a_cpu_generator_fixed_by_its_seed(seed):
    a, b = checks.rng(seed), checks.rng(seed)
    assert a.device.type == "cpu"
    assert torch.equal(torch.rand(4, generator=a), torch.rand(4, generator=b))


def test_rng_differs_between_seeds():
    assert not torch.equal(
        torch.rand(8, generator=checks.rng(1)), torch.rand(8, generator=checks.rng(2))
    )


@given(st.integers(0, 2**31), st.integers(-50, 50), st.integers(0, 30))
def test_randint_includes_both_ends(seed, low, width):
    g = checks.rng(seed)
    draws = {checks.randint(g, low, low + width) for _ in range(20)}
    assert all(type(v) is int and low <= v <= low + width for v in draws)


def test_randint_reaches_both_ends():
    g = checks.rng(0)
    assert {checks.randint(g, 3, 5) for _ in range(200)} == {3, 4, 5}


# --- tensor -----------------------------------------------------------------------------


def test_tensor_returns_an_acceptable_answer_unchanged():
    value = torch.randn(3, 2)
    assert checks.tensor(value, "out", shape=(3, 2), dtype=torch.float32) is value
    assert checks.tensor(torch.tensor([1, 2]), "labels", shape=[2]) is not None


@pytest.mark.parametrize(
    "value,expected_words",
    [
        ([1.0, 2.0], "out should be a torch.Tensor, got list"),
        (None, "out should be a torch.Tensor, got NoneType"),
        (torch.zeros(2).as_subclass(type("Sub", (torch.Tensor,), {})), "got Sub"),
        (torch.nn.Parameter(torch.zeros(2)), "got Parameter"),
    ],
)
def test_tensor_refuses_what_is_not_a_plain_tensor(value, expected_words):
    assert expected_words in failure(checks.tensor, value, "out")


def test_tensor_refuses_sparse_tensors():
    assert failure(checks.tensor, torch.eye(3).to_sparse(), "out") == "out should be a dense tensor"


def test_tensor_shape_and_dtype_messages_name_both_shapes_and_dtypes():
    assert failure(checks.tensor, torch.zeros(2, 3), "logits", shape=(3, 2)) == (
        "logits should have shape (3, 2), got (2, 3)"
    )
    assert (
        failure(checks.tensor, torch.zeros(2, dtype=torch.float64), "probs", dtype=torch.float32)
        == "probs should have dtype torch.float32, got torch.float64"
    )


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_tensor_refuses_non_finite_values_without_showing_them(bad):
    value = torch.tensor([0.123456, bad])
    message = failure(checks.tensor, value, "out")
    assert message == "out contains inf or nan"
    assert "0.123" not in message
    assert checks.tensor(value, "out", finite=False) is value  # when inf is a valid answer


def test_tensor_does_not_check_finiteness_of_integer_tensors():
    assert checks.tensor(torch.tensor([2**62]), "counts") is not None


# --- number -----------------------------------------------------------------------------


@given(st.one_of(st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False)))
def test_number_accepts_python_numbers_and_one_element_tensors(value):
    assert checks.number(value, "loss") == float(value)
    as_tensor = torch.tensor([value], dtype=torch.float64)
    assert checks.number(as_tensor, "loss") == float(as_tensor.item())


@pytest.mark.parametrize(
    "value,message",
    [
        (True, "loss should be a number, got bool"),
        ("0.5", "loss should be a number, got str"),
        ([0.5], "loss should be a number, got list"),
        (None, "loss should be a number, got NoneType"),
        (torch.zeros(2, 2), "loss should be a single number, got shape (2, 2)"),
        (torch.tensor(True), "loss should be a number, got bool"),
    ],
)
def test_number_refuses_what_is_not_one_number(value, message):
    assert failure(checks.number, value, "loss") == message


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, torch.tensor(math.nan)])
def test_number_refuses_non_finite_values(value):
    assert failure(checks.number, value, "loss") == "loss is inf or nan"
    assert checks.number(value, "loss", finite=False) != 0.0


# --- close ------------------------------------------------------------------------------


@given(st.lists(st.floats(-1e6, 1e6, width=32), min_size=1, max_size=20))
def test_close_accepts_equal_values_and_refuses_a_change_beyond_the_tolerance(values):
    a = torch.tensor(values)
    assert checks.close(a, a.clone(), atol=0.0)
    moved = a.double().clone()
    moved[0] += 1e-3 + 1e-3 * abs(moved[0])
    assert not checks.close(moved, a, atol=1e-3 * 0.99, rtol=1e-3 * 0.99)
    assert checks.close(moved, a, atol=1e-3 * 1.01, rtol=1e-3 * 1.01)


def test_close_measures_rtol_against_the_expected_value_in_float64():
    expected = torch.tensor([1000.0, 1.0], dtype=torch.float64)
    actual = expected + torch.tensor([0.5, 0.0], dtype=torch.float64)
    assert checks.close(actual.float(), expected, atol=0.0, rtol=1e-3)
    assert not checks.close(expected, actual, atol=0.0, rtol=1e-4)


def test_close_refuses_other_shapes_and_nan():
    assert not checks.close(torch.zeros(3), torch.zeros(3, 1), atol=1.0)
    assert not checks.close(torch.zeros(1, 3), torch.zeros(3), atol=1.0)
    assert not checks.close(torch.tensor([math.nan]), torch.tensor([math.nan]), atol=1.0)


# --- varies -----------------------------------------------------------------------------


def test_varies_accepts_rows_that_differ_anywhere():
    out = torch.zeros(3, 2, 2)
    out[2, 1, 0] = 1e-3
    checks.varies(out, "the output")


@pytest.mark.parametrize("value", [torch.ones(4, 3), torch.full((5,), 0.25), torch.zeros(2, 1)])
def test_varies_refuses_a_constant_answer(value):
    with pytest.raises(GradeFailure, match="the output is the same for different inputs"):
        checks.varies(value, "the output")


@pytest.mark.parametrize("value", [torch.tensor(1.0), torch.ones(1, 3)])
def test_varies_needs_two_rows_to_tell(value):
    with pytest.raises(GradeFailure, match="one row per input"):
        checks.varies(value, "the output")


# --- accuracy ---------------------------------------------------------------------------


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=1, max_size=50))
def test_accuracy_is_the_fraction_of_matching_labels(pairs):
    preds = torch.tensor([p for p, _ in pairs])
    labels = torch.tensor([y for _, y in pairs])
    assert checks.accuracy(preds, labels) == sum(p == y for p, y in pairs) / len(pairs)
    assert checks.accuracy(preds.int(), labels) == checks.accuracy(preds, labels)


def test_accuracy_refuses_float_predictions_and_wrong_shapes():
    labels = torch.tensor([1, 2, 3])
    assert failure(checks.accuracy, torch.tensor([1.0, 2.0, 3.0]), labels, "predict's result") == (
        "predict's result should be integer class indices, got torch.float32"
    )
    assert failure(checks.accuracy, torch.tensor([[1, 2, 3]]), labels, "predict's result") == (
        "predict's result should have shape (3,), got (1, 3)"
    )
    assert "the predictions should be a torch.Tensor" in failure(checks.accuracy, [1, 2, 3], labels)


# --- the hidden test split --------------------------------------------------------------


class Recorder:
    """Stands in for the judge's Submission: records what a grader sends, answers class 0."""

    def __init__(self):
        self.calls = []

    def call(self, probe, **inputs):
        self.calls.append((probe, inputs))
        return torch.zeros(len(inputs["images"]), dtype=torch.long)


def test_hidden_test_accuracy_sends_the_images_and_keeps_the_labels():
    images, labels = checks.mnist_test_split()
    assert checks.mnist_test_split()[0] is images  # loaded once per judge process
    assert images.shape == (10_000, 1, 28, 28) and labels.shape == (10_000,)
    nb = Recorder()
    acc = checks.hidden_test_accuracy(nb, "mnist_predictions", "mnist_model's predictions")
    ((probe, inputs),) = nb.calls
    assert probe == "mnist_predictions" and list(inputs) == ["images"]  # never the labels
    sent = inputs["images"]
    assert type(sent) is torch.Tensor and sent.dtype == torch.float32
    assert sent.shape[1:] == (1, 28, 28) and len(sent) >= 9_000
    # Answering "0" for every image scores the share of zeros among the scored images: all of
    # the test split, or (with a per-run subset of at least 9,000 of its 10,000 images) within
    # a hypergeometric sd of 0.001 of it; 0.01 is 10 sd.
    assert abs(acc - (labels == 0).double().mean().item()) <= 0.01


def test_every_helper_of_checks_has_a_unit_test_here():
    """A helper added to dlcourse.checks gets its unit test in this file (by its name)."""
    import inspect
    from pathlib import Path

    here = Path(__file__).read_text()
    helpers = [
        name
        for name, obj in vars(checks).items()
        if inspect.isfunction(obj)
        and obj.__module__ == checks.__name__
        and not name.startswith("_")
    ]
    untested = [h for h in helpers if f"checks.{h}(" not in here]
    assert helpers and not untested, f"no unit test calls checks.{', '.join(untested)}"


def test_accuracy_input_gives_the_predictions_as_long_class_indices():
    labels = torch.tensor([1, 2, 3])
    got = checks.accuracy_input(torch.tensor([1, 2, 0], dtype=torch.int32), labels)
    assert got.dtype == torch.long and got.tolist() == [1, 2, 0]
    assert "integer class indices" in failure(checks.accuracy_input, labels.double(), labels)


# --- flags: evidence for the instructor -------------------------------------------------


@pytest.fixture
def fresh_run(tmp_path):
    checks.start_run(tmp_path)
    yield tmp_path
    checks.start_run(None)


def test_flags_record_kind_evidence_and_the_running_test(fresh_run, monkeypatch):
    assert checks.RUN["graders"] == fresh_run and checks.flags() == []
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "autograder/a/test_x.py::test_acc (call)")
    checks.flag("near_perfect", "x" * 5000)
    (got,) = checks.flags()
    assert got == {"kind": "near_perfect", "evidence": "x" * 2000, "test": "test_acc"}
    checks.flags().clear()  # a copy: the run's flags stay
    assert len(checks.flags()) == 1


def test_a_new_run_forgets_the_last_run_s_flags(fresh_run):
    checks.flag("k", "e")
    checks.start_run(None)
    assert checks.flags() == [] and checks.RUN["graders"] is None


def test_current_test_names_the_running_hidden_test(monkeypatch):
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "autograder/a/test_x.py::test_bce (call)")
    assert checks.current_test() == "test_bce"
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    assert checks.current_test() == ""
