"""The hidden test set of one grading run: what the graders send, and how the answers are scored.

MNIST's test split is public (its labels ship with every download), so sending it unchanged and
in published order lets a notebook answer from a table. Each run therefore draws, from its own
seed, a random subset in random order, each image moved by a random sub-pixel shift (bilinear
resampling) plus a little noise, clamped to [0, 1]: lookups by position, by hash or by exact
match fail, while the reference models keep their accuracy (``benchmarks/testset_margin.py``).

A small disjoint subset goes along unperturbed and unscored, mixed in: a model that recognises
the public images themselves does far better on it than on the perturbed ones, and is flagged.
An instructor's private set (only in ``autograder/<a>/``; its labels never leave the judge) is
the one complete defence: it can be scored beside MNIST's or instead of it.
"""

from __future__ import annotations

import math
import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

# 9,000 of the 10,000 test images are scored. Sampling without replacement from the full split,
# the scored accuracy differs from the model's accuracy on all 10,000 (perturbed) images by a
# hypergeometric error of sd <= sqrt(p(1-p)/n * (N-n)/(N-1)); for p >= 0.90 that is <= 0.032 %
# of accuracy, so 5 sd (a correct model falls short < once in 3 million runs) is <= 0.16 %.
# Each bar must sit that far (plus the perturbation's mean effect) below the reference.
SCORED = 9_000
CLEAN = 1_000  # the unperturbed, unscored detection subset (disjoint from the scored one)
# The change: a sub-pixel shift (uniform in [-SHIFT, SHIFT] px per axis, bilinear) and noise.
# Either alone makes every image differ from its public original, also after rounding to 8 bits
# (measured: 0 of 100,000). The shift is small because Module 2's softmax regression is the most
# sensitive model: measured on its reference recipe, 0.1 px costs it 0.15 % and 0.2 px 0.3 %,
# 0.05 px about 0.06 %; noise of sd 0.01 costs nothing (benchmarks/testset_margin.py).
SHIFT = 0.05
NOISE = 0.01  # sd of the Gaussian pixel noise (2.5 of 255 grey levels), then clamped

# Flags (never grades). An honest model's clean-minus-perturbed accuracy differs from 0 by the
# perturbation's mean effect (<= 0.1 % for the references, measured) plus sampling noise: a gap
# beyond GAP_ALLOWANCE + 5 sd of that noise is a model that knows the public images.
GAP_ALLOWANCE = 0.01
PRIVATE_GAP_ALLOWANCE = 0.05  # a private set may be harder than MNIST's: more room
NEAR_PERFECT = 0.998  # above the best published MNIST models, and far above this course's


@dataclass
class HiddenSet:
    """One run's test images (as sent) with the judge's labels and where each image came from."""

    images: torch.Tensor  # (M, 1, 28, 28) float32 in [0, 1], in the order sent
    labels: torch.Tensor  # (M,) int64, kept in the judge
    part: list[str]  # per image: "perturbed", "clean" or "private"
    source: torch.Tensor  # per image: its index in MNIST's test split (-1 for private images)
    scored: tuple[str, ...]  # the parts the accuracy is computed on
    seed: int


@dataclass
class Score:
    accuracy: float  # on the scored parts: what the grade uses
    parts: dict[str, tuple[int, int]] = field(default_factory=dict)  # part -> (correct, count)
    seed: int = 0

    def of(self, part: str) -> float:
        correct, count = self.parts[part]
        return correct / count


def draw_seed() -> int:
    """A fresh run-time seed (the caller records it, so the set can be drawn again)."""
    return random.SystemRandom().randrange(2**31)


def perturb(images: torch.Tensor, g: torch.Generator, shift: float = SHIFT,
            noise: float = NOISE) -> torch.Tensor:
    """Each image shifted by its own random sub-pixel offset (bilinear), plus noise, in [0, 1]."""
    n, _, h, w = images.shape
    offset = (torch.rand(n, 2, generator=g) * 2 - 1) * shift  # (dx, dy) in pixels
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2] = offset[:, 0] * 2 / w  # affine_grid's unit: 2 / size per pixel
    theta[:, 1, 2] = offset[:, 1] * 2 / h
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="zeros",
                        align_corners=False)
    out += torch.randn(out.shape, generator=g) * noise
    return out.clamp_(0, 1)


def draw(images: torch.Tensor, labels: torch.Tensor, seed: int,
         private: tuple[torch.Tensor, torch.Tensor] | None = None, mode: str = "beside",
         scored: int = SCORED, clean: int = CLEAN) -> HiddenSet:
    """The run's set from MNIST's test split (and a private set): subset, perturbation, order."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(images), generator=g)
    pick, spare = order[:scored], order[scored:scored + clean]
    chunks = [(perturb(images[pick], g), labels[pick], "perturbed", pick),
              (images[spare], labels[spare], "clean", spare)]
    if private is not None:
        p_images, p_labels = private
        chunks.append((p_images, p_labels, "private", torch.full((len(p_labels),), -1)))
    parts = [name for _, y, name, _ in chunks for _ in range(len(y))]
    shuffle = torch.randperm(len(parts), generator=g)
    counted = {"beside": ("perturbed", "private"), "instead": ("private",)}[mode]
    return HiddenSet(images=torch.cat([c[0] for c in chunks])[shuffle].contiguous(),
                     labels=torch.cat([c[1] for c in chunks])[shuffle],
                     part=[parts[i] for i in shuffle.tolist()],
                     source=torch.cat([c[3] for c in chunks])[shuffle],
                     scored=tuple(p for p in counted if p in parts), seed=seed)


def score(hidden: HiddenSet, predictions: torch.Tensor) -> Score:
    """Correct answers per part, and the accuracy over the scored parts."""
    right = predictions.long() == hidden.labels
    parts = {}
    for name in dict.fromkeys(hidden.part):
        mask = torch.tensor([p == name for p in hidden.part])
        parts[name] = (int(right[mask].sum()), int(mask.sum()))
    correct = sum(parts[p][0] for p in hidden.scored)
    count = sum(parts[p][1] for p in hidden.scored)
    return Score(accuracy=correct / count, parts=parts, seed=hidden.seed)


def _gap_flag(result: Score, high: str, low: str, allowance: float) -> str | None:
    """Evidence when part ``high`` is answered far better than part ``low``, else None."""
    if high not in result.parts or low not in result.parts:
        return None
    (ch, nh), (cl, nl) = result.parts[high], result.parts[low]
    p = (ch + cl) / (nh + nl)
    sd = math.sqrt(max(p * (1 - p), 1e-4) * (1 / nh + 1 / nl))
    gap = ch / nh - cl / nl
    if gap <= allowance + 5 * sd:
        return None
    return (f"{ch / nh:.2%} correct on {nh} {high} images but {cl / nl:.2%} on {nl} {low} ones "
            f"(gap {gap:.2%}; an honest model's stays under {allowance + 5 * sd:.2%}); "
            f"test-set seed {result.seed}")


def suspicions(result: Score) -> list[tuple[str, str]]:
    """``(kind, evidence)`` for answers an honest model would not give; never part of a grade."""
    found = []
    gap = _gap_flag(result, "clean", "perturbed", GAP_ALLOWANCE)
    if gap:
        found.append(("public_images_recognised", gap))
    gap = _gap_flag(result, "perturbed", "private", PRIVATE_GAP_ALLOWANCE)
    if gap:
        found.append(("public_better_than_private", gap))
    if "perturbed" in result.parts and result.of("perturbed") >= NEAR_PERFECT:
        evidence = (f"{result.of('perturbed'):.2%} correct on {result.parts['perturbed'][1]} "
                    f"perturbed public images (at least {NEAR_PERFECT:.1%}: beyond the best "
                    f"published MNIST models); test-set seed {result.seed}")
        found.append(("near_perfect_accuracy", evidence))
    return found


# --- the instructor's private test set ----------------------------------------------------

DEFAULT_PRIVATE = "private_test.pt"


def private_config(graders: Path) -> tuple[Path | None, str]:
    """``autograder/<a>/assignment.toml`` ``[test_set]``: the private file and its mode.

    ``private = "file.pt"`` (default ``private_test.pt``, used when it exists) and
    ``mode = "beside"`` (scored together with MNIST's perturbed subset) or ``"instead"``.
    """
    table = {}
    toml = Path(graders) / "assignment.toml"
    if toml.is_file():
        with open(toml, "rb") as f:
            table = tomllib.load(f).get("test_set", {})
    mode = table.get("mode", "beside")
    if mode not in ("beside", "instead"):
        raise ValueError(f"{toml}: [test_set] mode must be 'beside' or 'instead', not {mode!r}")
    path = Path(graders) / table.get("private", DEFAULT_PRIVATE)
    if not path.is_file():
        if "private" in table:
            raise FileNotFoundError(f"{toml}: [test_set] private file {path.name} is missing")
        return None, mode
    return path, mode


def load_private(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """A private set: ``torch.save({"images": (N, 1, 28, 28) uint8 or float in [0, 1],
    "labels": (N,) integers 0-9}, path)``, checked so a malformed file fails loudly."""
    data = torch.load(path, weights_only=True)
    images, labels = data["images"], data["labels"]
    if images.dtype == torch.uint8:
        images = images.float() / 255
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if tuple(images.shape[1:]) != (1, 28, 28) or labels.shape != (len(images),) or not len(images):
        raise ValueError(f"{path}: images must be (N, 1, 28, 28) and labels (N,), "
                         f"got {tuple(images.shape)} and {tuple(labels.shape)}")
    images, labels = images.float(), labels.long()
    if not (images.min() >= 0 and images.max() <= 1 and labels.min() >= 0 and labels.max() <= 9):
        raise ValueError(f"{path}: images must lie in [0, 1] and labels in 0-9")
    return images.contiguous(), labels
