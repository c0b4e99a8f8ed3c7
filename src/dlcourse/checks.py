"""What hidden graders use: the ``grade`` marker, and checks whose messages are safe to show.

A grader states what it checks in words a student can act on, never the expected value:
``expect(ok, "binary_cross_entropy differs from nn.BCELoss on ordinary inputs")``.
Any other exception in a grader counts as a failure with a neutral message.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from dlcourse.errors import GradeFailure, ProbeError  # noqa: F401 (re-exported for graders)

grade = pytest.mark.grade  # @grade(cell="<grade_id of the notebook's grade cell>", points=N)


def rng(seed: int) -> torch.Generator:
    """A CPU generator for drawing a test's inputs from its run-time seed."""
    return torch.Generator().manual_seed(seed)


def randint(g: torch.Generator, low: int, high: int) -> int:
    """A random integer in [low, high] (both included)."""
    return int(torch.randint(low, high + 1, (1,), generator=g))


_TEST_SPLIT: dict = {}


def mnist_test_split() -> tuple[torch.Tensor, torch.Tensor]:
    """The hidden MNIST test split (images in [0, 1], labels), loaded once per judge process.

    Only the judge reads it: graders send the images to the student's model and keep the labels.
    """
    if not _TEST_SPLIT:
        from dlcourse.data import load_mnist

        _TEST_SPLIT["split"] = load_mnist("test")
    return _TEST_SPLIT["split"]


def hidden_test_accuracy(
    nb, probe: str, name: str, *, seed: int | None = None, graders: Path | None = None
) -> float:
    """Send this run's hidden test set to ``probe``; score its labels with the judge's own.

    The set is drawn from ``seed`` (by default derived from the running test's recorded seed,
    so a replay draws the same set): a random subset of
    MNIST's test split in random order, each image perturbed a little, mixed with unscored clean
    images and the instructor's private set, if any (:mod:`dlcourse.testset`). What an honest
    model would not answer is flagged for the instructor; flags never change the grade.
    """
    from dlcourse import testset

    graders = graders or RUN.get("graders")
    private, mode = testset.private_config(graders) if graders else (None, "beside")
    images, labels = mnist_test_split()
    if seed is None:  # derived from the running test's recorded seed (the judge's), else fresh
        seed = RUN.get("seed", testset.draw_seed())
    hidden = testset.draw(
        images, labels, seed, testset.load_private(private) if private else None, mode
    )
    predictions = accuracy_input(nb.call(probe, images=hidden.images), hidden.labels, name)
    result = testset.score(hidden, predictions)
    for kind, evidence in testset.suspicions(result):
        flag(kind, f"{name}: {evidence}")
    return result.accuracy


# --- flags: evidence for the instructor, never part of a grade -------------------------------

RUN: dict = {}  # set by the judge: {"graders", "seed_for"}, and per test {"seed"}
_FLAGS: list[dict] = []


def flag(kind: str, evidence: str) -> None:
    """Note something an instructor should look at (e.g. a model that knows the test images).

    Flags go into the judge's result as ``{"kind", "evidence", "test"}``; they never change a
    grade. ``test`` is the hidden test that was running (pytest's PYTEST_CURRENT_TEST).
    """
    _FLAGS.append({"kind": str(kind), "evidence": str(evidence)[:2000], "test": current_test()})


def current_test() -> str:
    """The hidden test running now (from pytest's PYTEST_CURRENT_TEST), or ""."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    return current.split("::", 1)[-1].rsplit(" (", 1)[0] if current else ""


def start_run(graders: Path | None, seed_for=None) -> None:
    """A new grading run (one judge process grades one submission): forget earlier flags.

    ``seed_for(name)`` gives the run's recorded, replayable seed for a name (the judge's plugin).
    """
    RUN.clear()
    RUN.update(graders=Path(graders) if graders else None, seed_for=seed_for)
    _FLAGS.clear()


def flags() -> list[dict]:
    """The flags raised so far in this grading run."""
    return list(_FLAGS)


def expect(condition, message: str) -> None:
    if not bool(condition):
        raise GradeFailure(message)


def tensor(value, name: str, *, shape=None, dtype=None, finite: bool = True) -> torch.Tensor:
    """Check that a probe answer is a plain dense tensor of the right shape (and dtype)."""
    expect(
        type(value) is torch.Tensor, f"{name} should be a torch.Tensor, got {type(value).__name__}"
    )
    expect(value.layout == torch.strided, f"{name} should be a dense tensor")
    if dtype is not None:
        expect(value.dtype == dtype, f"{name} should have dtype {dtype}, got {value.dtype}")
    if shape is not None:
        expect(
            tuple(value.shape) == tuple(shape),
            f"{name} should have shape {tuple(shape)}, got {tuple(value.shape)}",
        )
    if finite and value.is_floating_point():
        expect(bool(torch.isfinite(value).all()), f"{name} contains inf or nan")
    return value


def varies(value, name: str, *, atol: float = 1e-6) -> None:
    """Fail unless the rows of an output differ: a model whose answer ignores its input (a
    constant of the right shape) earns nothing. Give it two or more rows of different inputs."""
    out = tensor(value, name)
    expect(out.dim() >= 1 and len(out) >= 2, f"{name} should have one row per input")
    rows = out.double().reshape(len(out), -1)
    expect(
        bool((rows - rows[:1]).abs().max() > atol),
        f"{name} is the same for different inputs: it should be computed from the input",
    )


def number(value, name: str, *, finite: bool = True) -> float:
    """Check that a probe answer is a real number (a Python number or a one-element tensor)."""
    if type(value) is torch.Tensor:
        expect(
            value.numel() == 1, f"{name} should be a single number, got shape {tuple(value.shape)}"
        )
        value = value.item()
    expect(
        type(value) in (int, float) and not isinstance(value, bool),
        f"{name} should be a number, got {type(value).__name__}",
    )
    value = float(value)
    if finite:
        expect(value == value and abs(value) != float("inf"), f"{name} is inf or nan")
    return value


def close(actual: torch.Tensor, expected: torch.Tensor, *, atol: float, rtol: float = 0.0) -> bool:
    """True when the two agree elementwise within atol + rtol·|expected| (computed in float64)."""
    actual, expected = actual.double(), expected.double()
    return actual.shape == expected.shape and bool(
        ((actual - expected).abs() <= atol + rtol * expected.abs()).all()
    )


def accuracy_input(
    predictions, labels: torch.Tensor, name: str = "the predictions"
) -> torch.Tensor:
    """Predictions checked to be integer class indices of the labels' shape."""
    preds = tensor(predictions, name, shape=labels.shape)
    expect(
        not preds.is_floating_point() and not preds.is_complex(),
        f"{name} should be integer class indices, got {preds.dtype}",
    )
    return preds.long()


def accuracy(predictions, labels: torch.Tensor, name: str = "the predictions") -> float:
    """Fraction of correct labels, after checking the predictions' type and shape."""
    return (accuracy_input(predictions, labels, name) == labels).double().mean().item()
