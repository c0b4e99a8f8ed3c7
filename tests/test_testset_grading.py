"""Module 2 submissions that answer from the public MNIST test labels, graded by the real judge.

Each cheat keeps Module 2's interface (``mnist_model``, one ``nn.Linear(784, 10)``) but its
forward ignores the weights and answers from data the notebook carries, built here from
``load_mnist("test")`` (the sandbox has only train/val): the labels in published order, a table
of image hashes, or downsampled images for nearest-neighbour matching. Each cheat is first run
here, in this process, on the public split as the old grader sent it, to show it would have
scored 100 %. Then the judge grades it: lookups by position and by hash lose the test-accuracy
points; the nearest-neighbour lookup keeps them (perturbation cannot stop it) but is flagged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import lzma
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
import torch
import torch.nn.functional as F

from conftest import ROOT, with_solutions
from dlcourse.checks import mnist_test_split
from dlcourse.notebook import read
from dlcourse.plugin import derive_seed

A = "02_softmax_regression"
ACCURACY_TEST = "test_mnist_test_accuracy"

HEADER = """
import torch
import torch.nn.functional as F
from torch import nn
"""

MODEL = '''
class Cheat(nn.Module):
    """Looks like softmax regression; answers from the carried table."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(784, 10)
        self.seen = 0

    def forward(self, x):
        labels = torch.tensor([int(v) for v in answer(self, x.detach().cpu())])
        return F.one_hot(labels, 10).float().to(x.device)


mnist_model = Cheat()
'''

BY_POSITION = """
LABELS = {labels!r}


def answer(model, x):
    start, model.seen = model.seen, (model.seen + len(x)) % len(LABELS)
    return [LABELS[(start + i) % len(LABELS)] for i in range(len(x))]
"""

BY_HASH = """
import hashlib

PACKED = {packed!r}  # 6 hex digits of each image's SHA-1, then its label
TABLE = {{PACKED[i:i + 6]: int(PACKED[i + 6]) for i in range(0, len(PACKED), 7)}}


def answer(model, x):
    return [TABLE.get(hashlib.sha1(row.contiguous().numpy().tobytes()).hexdigest()[:6], 0)
            for row in x]
"""

PART = "PARTS = globals().get('PARTS', []) + [{part!r}]\n"  # one cell per part

NEAREST = """
import base64, lzma

LABELS = {labels!r}
SMALL = torch.frombuffer(bytearray(lzma.decompress(base64.b64decode("".join(PARTS)))),
                         dtype=torch.uint8).reshape(-1, 49).float()


def answer(model, x):
    small = F.avg_pool2d(x.reshape(-1, 1, 28, 28), 4).reshape(len(x), 49) * 255
    return [LABELS[i] for i in torch.cdist(small, SMALL).argmin(1).tolist()]
"""


def cheats() -> dict[str, list[str]]:
    """Each cheat's code cells; none over the 100,000 characters the worker accepts per cell."""
    images, labels = mnist_test_split()
    text = "".join(map(str, labels.tolist()))
    packed = "".join(
        hashlib.sha1(row.contiguous().numpy().tobytes()).hexdigest()[:6] + str(int(y))
        for row, y in zip(images.flatten(1), labels)
    )
    small = (F.avg_pool2d(images, 4).flatten(1) * 255).round().to(torch.uint8)
    blob = base64.b64encode(lzma.compress(small.numpy().tobytes())).decode()
    parts = [PART.format(part=blob[i : i + 90_000]) for i in range(0, len(blob), 90_000)]
    return {
        "by_position": [HEADER + BY_POSITION.format(labels=text) + MODEL],
        "by_hash": [HEADER + BY_HASH.format(packed=packed) + MODEL],
        "nearest": [*parts, HEADER + NEAREST.format(labels=text) + MODEL],
    }


def old_grader_accuracy(cells: list[str]) -> float:
    """What the cheat scores on the unchanged public split in published order (our own code)."""
    scope: dict = {}
    for source in cells:
        exec(compile(source, "<cheat>", "exec"), scope)  # noqa: S102 (the test's own cheat)
    images, labels = mnist_test_split()
    model = scope["mnist_model"]
    with torch.no_grad():
        got = torch.cat([model(b.reshape(len(b), -1)).argmax(1) for b in images.split(1000)])
    return (got == labels).double().mean().item()


def notebook_with(cells: list[str] | None):
    """The solution notebook, with the cheat appended (it replaces the trained mnist_model)."""
    course_nb = with_solutions(
        read(ROOT / "release" / A / f"{A}.ipynb"), read(ROOT / "source" / A / f"{A}.ipynb")
    )
    course_nb.cells += [nbformat.v4.new_code_cell(cell) for cell in cells or []]
    return course_nb


def judge(path, out) -> dict:
    """One real judge run (the worker sandboxed where bubblewrap works); its whole result."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dlcourse.judge",
            "--assignment",
            A,
            "--course",
            str(ROOT),
            "--notebook",
            str(path),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("testset")
    sources = cheats()
    old = {name: old_grader_accuracy(src) for name, src in sources.items()}
    jobs = {"honest": None, **sources}
    assert max(len(c) for cells in sources.values() for c in cells) < 100_000
    for name, cell in jobs.items():
        nbformat.write(notebook_with(cell), str(folder / f"{name}.ipynb"))
    with ThreadPoolExecutor(2) as pool:
        runs = {
            name: pool.submit(judge, folder / f"{name}.ipynb", folder / f"{name}.json")
            for name in jobs
        }
        return old, {name: run.result() for name, run in runs.items()}


def _test(result: dict, name: str) -> dict:
    return next(t for t in result["tests"] if t["name"] == name)


def _kinds(result: dict) -> set[str]:
    return {f["kind"] for f in result["flags"]}


@pytest.mark.slow
@pytest.mark.parametrize("cheat", ["by_position", "by_hash"])
def test_lookup_of_the_public_labels_loses_the_accuracy_points(graded, cheat):
    old, results = graded
    assert old[cheat] >= 0.999  # against the old grader the cheat was (all but) exact
    result = results[cheat]
    # Module 2's structure test now checks mnist_model by its function (logits x·Wᵀ + b), so a
    # lookup table is caught there too; the accuracy points are what this test is about
    assert not _test(result, ACCURACY_TEST)["passed"]
    assert "embedded_data" in _kinds(result)
    if cheat == "by_hash":  # it knows the unperturbed images it is shown, and only those
        flags = [f for f in result["flags"] if f["kind"] == "public_images_recognised"]
        assert flags and flags[0]["test"] == ACCURACY_TEST
        seed = derive_seed(result["seeds"][ACCURACY_TEST], "test set")  # a replay redraws it
        assert flags[0]["evidence"].endswith(f"test-set seed {seed}")


@pytest.mark.slow
def test_nearest_neighbour_lookup_is_flagged_not_regraded(graded):
    old, results = graded
    assert old["nearest"] > 0.99
    result = results["nearest"]
    assert _test(result, ACCURACY_TEST)["passed"]  # flags never change a grade
    assert {"embedded_data", "near_perfect_accuracy"} <= _kinds(result)
    assert any("base64" in f["evidence"] for f in result["flags"])


@pytest.mark.slow
def test_the_honest_solution_keeps_its_points_unflagged(graded):
    _, results = graded
    result = results["honest"]
    failed = [t for t in result["tests"] if not t["passed"]]
    assert not failed, failed
    assert result["flags"] == []
