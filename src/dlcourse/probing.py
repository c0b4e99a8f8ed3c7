"""Helpers for probes, the worker-side half of the graders (``autograder/<a>/probes.py``).

Probes run inside the sandboxed worker, next to the student's code, and return data only.
What several modules' probes need is written once here: finding a model's device, running a
model in eval mode in batches on its device, describing a module's structure, one optimiser
step. Nothing here checks anything: verdicts belong to the judge.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from dlcourse.data import MEAN, STD  # the normalisation load_mnist(normalize=True) applies

__all__ = [
    "MEAN",
    "STD",
    "describe",
    "model_device",
    "optimizer_step",
    "predict_labels",
    "standardize",
]


def model_device(model: nn.Module, default: torch.device | str = "cpu") -> torch.device:
    """The device of a model's first parameter (or buffer); ``default`` for a model with neither."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device(default)


def standardize(images: torch.Tensor) -> torch.Tensor:
    """MNIST images in [0, 1] → the standardised values ``load_mnist(normalize=True)`` gives."""
    return (images - MEAN) / STD


def predict_labels(
    model: nn.Module,
    images: torch.Tensor,
    *,
    default_device="cpu",
    prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
    batch_size: int = 1000,
) -> torch.Tensor:
    """Class indices (on the CPU) of ``model`` for ``images``: eval mode, no autograd, in batches,
    on the model's own device; ``prepare`` maps a batch to the model's input (e.g. flatten)."""
    device = model_device(model, default_device)
    model.eval()
    out = []
    with torch.no_grad():
        for batch in images.split(batch_size):
            x = prepare(batch) if prepare is not None else batch
            out.append(model(x.to(device)).argmax(dim=1).cpu())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def describe(model: nn.Module) -> dict:
    """A module's structure as data: its type, children, all submodules, parameter count."""
    return {
        "type": type(model).__name__,
        "is_sequential": isinstance(model, nn.Sequential),
        "children": [type(m).__name__ for m in model.children()],
        "modules": [type(m).__name__ for m in model.modules()],
        "n_params": sum(p.numel() for p in model.parameters()),
        "training": bool(model.training),
    }


def optimizer_step(
    step: Callable[[list[torch.Tensor]], object],
    values: list[torch.Tensor],
    grads: list[torch.Tensor],
) -> list[torch.Tensor]:
    """Apply one student-written update ``step(params)`` to leaf tensors holding ``values`` whose
    ``.grad`` is ``grads``; return the updated values."""
    params = [torch.as_tensor(v, dtype=torch.float32).clone().requires_grad_(True) for v in values]
    for p, g in zip(params, grads):
        p.grad = torch.as_tensor(g, dtype=p.dtype).clone()
    step(params)
    return [p.detach().clone() for p in params]
