"""Probes for Module 1: run in the worker against the student's notebook, return data only.

Each probe builds or calls the student's code on inputs the judge chose and returns tensors
and plain values. No expected values here: the judge compares. Losses and helpers a probe
needs besides the function it grades are its own (``_bce``, ``_gd_step``), so each test
depends only on the code it grades.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.probing import describe


def _bce(yhat, y):
    """Binary cross-entropy of probabilities, logs clamped at -100 as nn.BCELoss does."""
    return -(
        y * torch.log(yhat).clamp(min=-100) + (1 - y) * torch.log(1 - yhat).clamp(min=-100)
    ).mean()


def _mse(yhat, y):
    """Mean squared error."""
    return ((yhat - y) ** 2).mean()


def _gd_step(params, lr):
    """The reference update p <- p - lr * p.grad, for probes of code that calls gd_step."""
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad


LOSSES = {"bce": _bce, "mse": _mse}
LOGIT_LOSSES = {
    "bce": F.binary_cross_entropy_with_logits,
    "mse": lambda z, y: _mse(torch.sigmoid(z), y),
}


def _module(model, x):
    """A model's output on x (no autograd), its parameters and its structure."""
    with torch.no_grad():
        out = model(x)
    return {"out": out, "params": list(model.parameters()), "modules": describe(model)["modules"]}


# --- Exercise 1: LogisticRegression --------------------------------------------------


def logistic_regression(nb, in_features, x, seed):
    """LogisticRegression(in_features)'s output on x, its parameters and module types."""
    torch.manual_seed(seed)
    return _module(nb.LogisticRegression(in_features), x)


# --- Exercise 2: binary_cross_entropy ------------------------------------------------


def binary_cross_entropy(nb, yhat, y):
    """The student's binary_cross_entropy(yhat, y)."""
    return nb.binary_cross_entropy(yhat, y)


# --- Exercise 3: bce_with_logits -----------------------------------------------------


def bce_with_logits(nb, z, y):
    """bce_with_logits(z, y) and the gradient autograd finds for z through it."""
    z = z.clone().requires_grad_(True)
    loss = nb.bce_with_logits(z, y)
    loss.backward()
    return {"loss": loss, "grad": z.grad}


# --- Exercise 4: mse_loss and loss_surface -------------------------------------------


def mse_loss(nb, yhat, y):
    """The student's mse_loss(yhat, y)."""
    return nb.mse_loss(yhat, y)


def loss_surface(nb, loss, weights, biases, x, y):
    """loss_surface with the probe's own loss function (``bce`` or ``mse``)."""
    return nb.loss_surface(LOSSES[loss], weights, biases, x, y)


# --- Exercise 5: gradient ------------------------------------------------------------


def gradient(nb, loss, w, b, x, y):
    """gradient(loss_fn, w, b, x, y) with the probe's own loss function, as a list."""
    dw, db = nb.gradient(LOSSES[loss], w, b, x, y)
    return [dw, db]


# --- Exercise 6: autograd ------------------------------------------------------------


def _graph_tensor(kind, value):
    """A tensor of the given kind: a leaf, a constant, an op result, detached, under no_grad."""
    leaf = value.clone().requires_grad_(True)
    if kind == "leaf":
        return leaf
    if kind == "constant":
        return value.clone()
    if kind == "mul":
        return leaf * 2.0
    if kind == "add":
        return leaf + 1.0
    if kind == "sigmoid":
        return torch.sigmoid(leaf)
    if kind == "detached":
        return (leaf * 2.0).detach()
    with torch.no_grad():  # "no_grad"
        return leaf * 2.0


def graph_summary(nb, kinds, value):
    """graph_summary(t) for a tensor t of each kind, as lists."""
    out = []
    for kind in kinds:
        got = nb.graph_summary(_graph_tensor(kind, value))
        out.append(list(got) if isinstance(got, (tuple, list)) else got)
    return out


def _linear_loss(kind):
    def loss(w, x, y):
        z = x @ w
        return F.binary_cross_entropy_with_logits(z, y) if kind == "bce" else ((z - y) ** 2).mean()

    return loss


def accumulated_gradient(nb, loss, w, xs, ys):
    """accumulated_gradient on batches (xs[k], ys[k]) of a linear model's loss, and what became of w."""
    result = nb.accumulated_gradient(_linear_loss(loss), w, list(zip(xs, ys)))
    return {
        "grad": result,
        "w": w.detach().clone(),
        "w_requires_grad": w.requires_grad,
        "w_has_grad": w.grad is not None,
    }


class _Recorder(nn.Module):
    """A linear model that records whether autograd was recording during each forward pass."""

    def __init__(self, weight, bias):
        super().__init__()
        self.linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(weight)
            self.linear.bias.copy_(bias)
        self.grad_enabled = []

    def forward(self, x):
        self.grad_enabled.append(torch.is_grad_enabled())
        return self.linear(x)


def evaluate(nb, weight, bias, x, y, grad):
    """evaluate(model, mse, x, y) on a recording linear model whose .grad was set beforehand."""
    model = _Recorder(weight, bias)
    model.linear.weight.grad = grad.clone()
    result = nb.evaluate(model, _mse, x, y)
    return {
        "result": result,
        "is_float": type(result) is float,
        "grad_enabled_in_forward": model.grad_enabled,
        "grad_enabled_after": torch.is_grad_enabled(),
        "weight_grad": model.linear.weight.grad,
        "bias_grad_is_none": model.linear.bias.grad is None,
    }


# --- Exercise 7: LogisticStack -------------------------------------------------------


def logistic_stack(nb, sizes, x, seed):
    """LogisticStack(sizes)'s output on x, its parameters and module types."""
    torch.manual_seed(seed)
    return _module(nb.LogisticStack(sizes), x)


# --- Exercise 8: gd_step and train ---------------------------------------------------


def gd_step(nb, values, grads, lr):
    """Parameters after gd_step on a generator of leaves holding values with .grad = grads."""
    params = [v.clone().requires_grad_(True) for v in values]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    nb.gd_step((p for p in params), lr)  # a generator, like model.parameters()
    return {"params": params, "leaf": [p.is_leaf and p.requires_grad for p in params]}


def train(nb, x, y, x_test, lr, epochs, seed, weight=None, bias=None):
    """train() on a fresh sigmoid neuron (or one holding weight and bias), with the reference
    gd_step: its history, the types of its entries, the final parameters, test outputs."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(x.shape[1], 1), nn.Sigmoid())
    if weight is not None:
        with torch.no_grad():
            model[0].weight.copy_(weight)
            model[0].bias.copy_(bias)
    with nb.substitute(gd_step=_gd_step):
        history = nb.train(model, _bce, x, y, lr, epochs)
    history = list(history) if isinstance(history, (list, tuple)) else history
    with torch.no_grad():
        return {
            "history": history,
            "types": [type(h).__name__ for h in history] if isinstance(history, list) else [],
            "weight": model[0].weight,
            "bias": model[0].bias,
            "test_out": model(x_test),
        }


# --- Exercise 9: descend -------------------------------------------------------------


def descend(nb, loss, w0, b0, x, y, lr, steps):
    """descend's path with the probe's own loss of logits (``bce`` or ``mse`` through a sigmoid)."""
    with nb.substitute(gd_step=_gd_step):
        return nb.descend(LOGIT_LOSSES[loss], w0, b0, x, y, lr, steps)
