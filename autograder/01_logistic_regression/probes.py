"""Probes for Module 1: run in the worker against the student's notebook, return data only.

Each probe builds or calls the student's code on inputs the judge chose and returns tensors
and plain values. No expected values here: the judge compares.
"""

import torch
import torch.nn as nn


def _bce(yhat, y):
    """Reference losses written with plain tensor ops, so a probe never depends on student code."""
    return -(y * torch.log(yhat).clamp(min=-100) + (1 - y) * torch.log(1 - yhat).clamp(min=-100)).mean()


def _mse(yhat, y):
    return ((yhat - y) ** 2).mean()


LOSSES = {"bce": _bce, "mse": _mse}


def logistic_regression(nb, in_features, x, seed):
    torch.manual_seed(seed)
    model = nb.LogisticRegression(in_features)
    with torch.no_grad():
        out = model(x)
    return {"out": out, "params": list(model.parameters()),
            "modules": [type(m).__name__ for m in model.modules()]}


def binary_cross_entropy(nb, yhat, y):
    return nb.binary_cross_entropy(yhat, y)


def mse_loss(nb, yhat, y):
    return nb.mse_loss(yhat, y)


def loss_surface(nb, loss, weights, biases, x, y):
    return nb.loss_surface(LOSSES[loss], weights, biases, x, y)


def gradient(nb, loss, w, b, x, y):
    dw, db = nb.gradient(LOSSES[loss], w, b, x, y)
    return [dw, db]


def logistic_stack(nb, sizes, x, seed):
    torch.manual_seed(seed)
    model = nb.LogisticStack(sizes)
    with torch.no_grad():
        out = model(x)
    return {"out": out, "params": list(model.parameters()),
            "modules": [type(m).__name__ for m in model.modules()]}


def gd_step(nb, values, grads, lr):
    params = [v.clone().requires_grad_(True) for v in values]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    nb.gd_step(params, lr)
    return {"params": params, "leaf": [p.is_leaf and p.requires_grad for p in params]}


def train(nb, x, y, x_test, lr, epochs, seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(x.shape[1], 1), nn.Sigmoid())
    history = nb.train(model, _bce, x, y, lr, epochs)
    with torch.no_grad():
        return {"history": list(history), "test_out": model(x_test)}
