"""The per-run hidden test set, the instructor's flags and the embedded-data scan.

The MNIST test split is public, so the graders send each run a different random subset, in
random order, each image perturbed (``dlcourse.testset``). These tests check the set's
properties on seeds drawn at run time, that lookups of the public split (by position, by hash,
by nearest neighbour) fail or are flagged, and that an instructor's private set is scored.
"""

from __future__ import annotations

import hashlib
import random

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from dlcourse import checks, screening, testset
from dlcourse.checks import mnist_test_split
from dlcourse.data import load_mnist
from dlcourse.notebook import read_code_cells


def _seed() -> int:
    return random.SystemRandom().randrange(2**31)


def _digest(row: torch.Tensor) -> str:
    return hashlib.sha1(row.contiguous().numpy().tobytes()).hexdigest()


def _centroid_predict(train_images, train_labels):
    """An honest, cheap model: the nearest class mean of the training split."""
    flat = train_images.flatten(1)
    centroids = torch.stack([flat[train_labels == k].mean(0) for k in range(10)])
    return lambda images: torch.cdist(images.flatten(1), centroids).argmin(1)


@pytest.fixture(scope="module")
def split():
    return mnist_test_split()


@pytest.fixture(scope="module")
def honest():
    return _centroid_predict(*load_mnist("train"))


@pytest.mark.slow
def test_each_run_sends_a_perturbed_subset_in_random_order(split):
    images, labels = split
    seed = _seed()
    hidden = testset.draw(images, labels, seed)
    assert len(hidden.images) == testset.SCORED + testset.CLEAN
    assert hidden.part.count("perturbed") == testset.SCORED and hidden.scored == ("perturbed",)
    assert torch.equal(hidden.labels, labels[hidden.source])  # labels are preserved
    assert len(set(hidden.source.tolist())) == len(hidden.source)  # distinct images
    assert not torch.equal(hidden.source, hidden.source.sort().values)  # not published order
    assert hidden.images.min() >= 0 and hidden.images.max() <= 1
    perturbed = torch.tensor([p == "perturbed" for p in hidden.part])
    diff = (hidden.images[perturbed] - images[hidden.source[perturbed]]).abs().flatten(1)
    assert bool((diff.max(1).values > 0).all()), "no perturbed image equals its original"
    assert diff.mean() < 0.05, "the change is small"
    clean = ~perturbed
    assert torch.equal(hidden.images[clean], images[hidden.source[clean]])
    again = testset.draw(images, labels, seed)  # a replay draws the same set
    assert torch.equal(again.images, hidden.images) and again.part == hidden.part
    other = testset.draw(images, labels, seed + 1)
    assert not torch.equal(other.source, hidden.source)


def test_lookups_by_position_and_hash_fail_and_are_flagged(split):
    images, labels = split
    hidden = testset.draw(images, labels, _seed())
    by_position = labels[: len(hidden.images)]  # the published order's labels
    assert testset.score(hidden, by_position).accuracy < 0.2
    table = {_digest(row): int(y) for row, y in zip(images.flatten(1), labels)}
    assert all(table[_digest(r)] == y for r, y in zip(images[:50].flatten(1), labels[:50]))
    answers = torch.tensor([table.get(_digest(row), 0) for row in hidden.images.flatten(1)])
    result = testset.score(hidden, answers)
    assert result.accuracy < 0.2 and result.of("clean") == 1.0
    assert [k for k, _ in testset.suspicions(result)] == ["public_images_recognised"]


@pytest.mark.slow
def test_nearest_neighbour_lookup_is_flagged(split):
    images, labels = split
    hidden = testset.draw(images, labels, _seed())
    small = F.avg_pool2d(images, 4).flatten(1)  # what a notebook could carry compactly
    nearest = torch.cat(
        [
            torch.cdist(F.avg_pool2d(b, 4).flatten(1), small).argmin(1)
            for b in hidden.images.split(2000)
        ]
    )
    result = testset.score(hidden, labels[nearest])
    assert "near_perfect_accuracy" in [k for k, _ in testset.suspicions(result)]


@pytest.mark.slow
def test_an_honest_model_keeps_its_accuracy_and_is_not_flagged(split, honest):
    images, labels = split
    clean = (honest(images) == labels).double().mean().item()
    for _ in range(3):
        result = testset.score(
            hidden := testset.draw(images, labels, _seed()), honest(hidden.images)
        )
        # 9,000 of 10,000 drawn: sd <= 0.1 % at p = 0.82; the perturbation's effect is small
        assert abs(result.accuracy - clean) < 0.01
        assert testset.suspicions(result) == []


@pytest.mark.slow
def test_private_set_is_scored_beside_or_instead(split, honest, tmp_path):
    images, labels = split
    train_x, train_y = load_mnist("val")
    g = torch.Generator().manual_seed(_seed())
    pick = torch.randperm(len(train_x), generator=g)[:300]
    torch.save(
        {"images": (train_x[pick] * 255).round().to(torch.uint8), "labels": train_y[pick]},
        tmp_path / "private_test.pt",
    )
    path, mode = testset.private_config(tmp_path)
    assert path == tmp_path / "private_test.pt" and mode == "beside"
    private = testset.load_private(path)
    assert private[0].shape == (300, 1, 28, 28) and torch.equal(private[1], train_y[pick])
    hidden = testset.draw(images, labels, _seed(), private, mode)
    assert hidden.scored == ("perturbed", "private") and hidden.part.count("private") == 300
    result = testset.score(hidden, honest(hidden.images))
    correct = sum(result.parts[p][0] for p in ("perturbed", "private"))
    assert result.accuracy == correct / (testset.SCORED + 300)
    (tmp_path / "assignment.toml").write_text(
        '[test_set]\nprivate = "private_test.pt"\nmode = "instead"\n'
    )
    path, mode = testset.private_config(tmp_path)
    hidden = testset.draw(images, labels, _seed(), testset.load_private(path), mode)
    result = testset.score(hidden, honest(hidden.images))
    expected = (honest(private[0]) == private[1]).double().mean().item()
    assert hidden.scored == ("private",) and result.accuracy == pytest.approx(expected, abs=2 / 300)
    # a model that knows MNIST's test images but not the private ones is flagged
    lookup = torch.where(
        hidden.source >= 0, labels[hidden.source.clamp(min=0)], honest(hidden.images)
    )
    kinds = [k for k, _ in testset.suspicions(testset.score(hidden, lookup))]
    assert "public_better_than_private" in kinds


def test_a_broken_private_configuration_fails_loudly(tmp_path):
    (tmp_path / "assignment.toml").write_text('[test_set]\nprivate = "missing.pt"\n')
    with pytest.raises(FileNotFoundError):
        testset.private_config(tmp_path)
    (tmp_path / "assignment.toml").write_text('[test_set]\nmode = "sometimes"\n')
    with pytest.raises(ValueError):
        testset.private_config(tmp_path)
    torch.save({"images": torch.rand(5, 28, 28) * 2, "labels": torch.zeros(5)}, tmp_path / "bad.pt")
    with pytest.raises(ValueError):
        testset.load_private(tmp_path / "bad.pt")


def test_flag_names_the_running_test():
    checks.start_run(None)
    checks.flag("public_images_recognised", "evidence")
    assert checks.flags() == [
        {
            "kind": "public_images_recognised",
            "evidence": "evidence",
            "test": "test_flag_names_the_running_test",
        }
    ]
    checks.start_run(None)
    assert checks.flags() == []


# --- the static scan -------------------------------------------------------------------------


def _cells(*sources: str) -> list[dict]:
    return [{"id": f"cell-{i}", "source": s} for i, s in enumerate(sources)]


def test_scan_flags_data_a_model_does_not_need(split):
    images, labels = split
    n = random.SystemRandom().randrange(5_000, 10_001)
    table = {_digest(r)[:12]: int(y) for r, y in zip(images[:n].flatten(1), labels[:n])}
    blob = __import__("base64").b64encode(images[:200].mul(255).byte().numpy().tobytes()).decode()
    cells = _cells(
        "import torch\nmodel = torch.nn.Linear(784, 10)",
        "%matplotlib inline\nLABELS = " + repr("".join(map(str, labels[:n].tolist()))),
        f"TABLE = {table!r}",
        f"DATA = {blob!r}",
        f"W = {images[0].flatten().mul(255).round().tolist() * 3!r}",
    )
    flags = screening.scan(cells)
    assert [f["kind"] for f in flags] == ["embedded_data"] * 4
    assert [f["evidence"].split(" (")[0] for f in flags] == [f"code cell {i}" for i in (2, 3, 4, 5)]
    assert f"a {n:,}-character string literal" in flags[0]["evidence"]
    assert "base64" in flags[2]["evidence"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=5))
def test_scan_takes_any_text(sources):
    assert all(f["kind"] == "embedded_data" for f in screening.scan(_cells(*sources)))


def test_scan_survives_hostile_sources():
    deep = "x = " + "(" * 100_000 + ")" * 100_000
    cells = _cells(
        deep, "\x00" * 10, "!pip install x\ndef broken(:\n    " + "QUJD" * 1100, "def f(:\n"
    )
    flags = screening.scan(cells)
    assert [f["evidence"].split(" (")[0] for f in flags] == ["code cell 3"]


def test_the_course_notebooks_scan_clean():
    notebooks = sorted(ROOT.glob("solutions/*/*.ipynb")) + sorted(ROOT.glob("release/*/*.ipynb"))
    assert len(notebooks) >= 12
    for path in notebooks:
        assert screening.scan(read_code_cells(path)) == [], path.name


def test_flag_summary_counts_flagged_submissions():
    records = [
        {"student": "ann", "flags": []},
        {
            "student": "bob",
            "flags": [
                {"kind": "embedded_data", "evidence": "cell 3", "test": ""},
                {
                    "kind": "near_perfect_accuracy",
                    "evidence": "99.9%",
                    "test": "test_mnist_test_accuracy",
                },
            ],
        },
        {"student": "cy"},
    ]
    summary = screening.flag_summary(records).splitlines()
    assert summary[0].endswith("1 of 3 submissions")
    assert summary[1].strip() == "bob: 2 flag(s)"
    assert "near_perfect_accuracy in test_mnist_test_accuracy: 99.9%" in summary[3]
    assert screening.flag_summary(records[:1]) == ""


# --- a private set through a real worker ------------------------------------------------------

NOTEBOOK_CELL = """
import torch
from dlcourse.data import load_mnist

x, y = load_mnist("train")
centroids = torch.stack([x[y == k].mean(0) for k in range(10)]).flatten(1)


def predict(images):
    return torch.cdist(images.flatten(1), centroids).argmin(1)
"""

PROBES = """
def predict(nb, images):
    return nb.predict(images)


def can_read(nb, path):
    try:
        with open(path, "rb") as f:
            return len(f.read(16)) > 0
    except OSError:
        return False
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["beside", "instead"])
def test_private_set_is_scored_through_the_sandbox_and_never_readable(
    tmp_path, course, honest, mode
):
    import nbformat

    from dlcourse.judge import Submission

    x, y = load_mnist("train")
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(_seed()))[:400]
    graders = tmp_path / "graders"
    graders.mkdir()
    torch.save({"images": x[pick], "labels": y[pick]}, graders / "mine.pt")
    (graders / "assignment.toml").write_text(f'[test_set]\nprivate = "mine.pt"\nmode = "{mode}"\n')
    notebook = tmp_path / "nb.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK_CELL)]), str(notebook)
    )
    a = "02_softmax_regression"
    nb = Submission(course, a, notebook, "auto", course.limits(a), probes_source=PROBES)
    try:
        seed = _seed()
        got = checks.hidden_test_accuracy(
            nb, "predict", "predict's digits", seed=seed, graders=graders
        )
        if nb.isolation == "bwrap":  # under rlimits the worker could read it (documented)
            assert nb.call("can_read", path="/data/MNIST/raw/train-labels-idx1-ubyte") is True
            assert nb.call("can_read", path=str(graders / "mine.pt")) is False
    finally:
        nb.close()
    images, labels = mnist_test_split()
    private = testset.load_private(graders / "mine.pt")
    hidden = testset.draw(images, labels, seed, private, mode)  # the same draw, replayed here
    expected = testset.score(hidden, honest(hidden.images)).accuracy
    assert got == pytest.approx(expected, abs=2 / (400 if mode == "instead" else 9400))
