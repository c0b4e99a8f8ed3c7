"""Probes for Module 2: run in the worker against the student's notebook, return data only.

Each probe builds or calls the student's code on inputs the judge chose and returns tensors
and plain values. No expected values here: the judge compares.

So that each test depends only on the code it grades, probes that call one exercise run it
with the instructor's versions of the *other* exercises' functions (``_references``): a
student's ``categorical_cross_entropy`` that calls ``softmax`` is graded with a correct
softmax, ``train_softmax`` with a correct loss, ``decision_regions`` with a correct ``predict``.
Functions defined in the notebook look these names up in the notebook's namespace when
they run, so swapping them there for the duration of the call is enough.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.probing import describe, predict_labels


def _softmax(z):
    """Reference softmax."""
    return torch.softmax(z, dim=1)


def _one_hot(y, num_classes):
    """Reference one-hot."""
    return F.one_hot(y, num_classes).float()


def _categorical_cross_entropy(logits, y):
    """Reference cross-entropy."""
    return F.cross_entropy(logits, y)


def _predict(model, x):
    """Reference argmax prediction."""
    with torch.no_grad():
        return model(x).argmax(dim=1)


REFERENCES = {
    "softmax": _softmax,
    "one_hot": _one_hot,
    "categorical_cross_entropy": _categorical_cross_entropy,
    "predict": _predict,
}


def _references(nb, *keep):
    """Reference versions of the notebook's helper functions, except those in ``keep``."""
    return nb.substitute(**{name: fn for name, fn in REFERENCES.items() if name not in keep})


def _linear(weight, bias):
    """An nn.Linear holding exactly the weight and bias the judge chose."""
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias)
    return layer


# --- Exercises 1-3 -------------------------------------------------------------------


def softmax(nb, z):
    """The student's softmax(z)."""
    with _references(nb, "softmax"):
        return nb.softmax(z)


def one_hot(nb, y, num_classes):
    """The student's one_hot(y, num_classes)."""
    with _references(nb, "one_hot"):
        return nb.one_hot(y, num_classes)


def categorical_cross_entropy(nb, logits, y):
    """The student's categorical_cross_entropy(logits, y), with the reference softmax and one_hot."""
    with _references(nb, "categorical_cross_entropy"):
        return nb.categorical_cross_entropy(logits, y)


# --- Exercise 4 ----------------------------------------------------------------------


def softmax_regression(nb, in_features, num_classes, x, seed):
    """SoftmaxRegression's output on x, its parameters and module types."""
    torch.manual_seed(seed)
    with _references(nb):
        model = nb.SoftmaxRegression(in_features, num_classes)
        with torch.no_grad():
            out = model(x)
    return {"out": out, "params": list(model.parameters()), "modules": describe(model)["modules"]}


def predict(nb, weight, bias, x):
    """predict() of a linear model holding the judge's weight and bias."""
    with _references(nb, "predict"):
        return nb.predict(_linear(weight, bias), x)


# --- Exercise 5: count_trainable and freeze_bias ------------------------------------


def _build(spec):
    """A model from the judge's spec: ("linear", in, out, bias, frozen) and ("relu",) entries,
    in an nn.Sequential, optionally nested one level (a list inside the spec)."""
    layers = []
    for entry in spec:
        if entry and isinstance(entry[0], list):
            layers.append(_build(entry))
        elif entry[0] == "relu":
            layers.append(nn.ReLU())
        else:
            _, n_in, n_out, bias, frozen = entry
            layer = nn.Linear(n_in, n_out, bias=bias)
            for p in layer.parameters():
                p.requires_grad_(not frozen)
            layers.append(layer)
    return nn.Sequential(*layers)


def _state(model):
    """Every parameter's name, requires_grad flag and values."""
    return [[name, p.requires_grad, p.detach().clone()] for name, p in model.named_parameters()]


def count_trainable(nb, spec):
    """count_trainable of the model built from spec."""
    return nb.count_trainable(_build(spec))


def freeze_bias(nb, spec, seed):
    """freeze_bias on the model built from spec: its answer, and the parameters before and after."""
    torch.manual_seed(seed)
    model = _build(spec)
    before = _state(model)
    names = nb.freeze_bias(model)
    return {
        "names": list(names) if isinstance(names, (list, tuple)) else names,
        "before": before,
        "after": _state(model),
    }


# --- Exercises 6 and 7 ---------------------------------------------------------------


def train_softmax(nb, weight, bias, x, y, lr, epochs, x_test):
    """train_softmax on a linear model holding weight and bias, with the reference loss:
    its history, the trained parameters and the logits on x_test."""
    model = _linear(weight, bias)
    with _references(nb):
        history = nb.train_softmax(model, x, y, lr, epochs)
    with torch.no_grad():
        test_logits = model(x_test)
    history = list(history) if isinstance(history, (list, tuple)) else history
    return {
        "history": history,
        "weight": model.weight,
        "bias": model.bias,
        "test_logits": test_logits,
    }


def decision_regions(nb, weight, bias, xs, ys):
    """decision_regions of a linear model holding weight and bias, with the reference predict."""
    with _references(nb):
        return nb.decision_regions(_linear(weight, bias), xs, ys)


# --- Exercise 8 and MNIST -----------------------------------------------------------


def train_epoch(nb, weight, bias, xs, ys, lr):
    """train_epoch on a linear model over the batches (xs[k], ys[k]) with plain SGD and the
    reference loss: its result and the trained parameters."""
    model = _linear(weight, bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    with _references(nb):
        result = nb.train_epoch(model, list(zip(xs, ys)), optimizer)
    return {
        "result": result,
        "is_float": type(result) is float,
        "weight": model.weight,
        "bias": model.bias,
    }


def mnist_structure(nb, images):
    """mnist_model's parameters and its outputs for images (N, 1, 28, 28) flattened to (N, 784)."""
    model = nb.mnist_model
    params = [p.detach().cpu() for p in model.parameters()]
    with torch.no_grad():
        out = model(images.reshape(len(images), -1).to(params[0].device if params else nb.device))
    return {"params": params, "out": out}


def mnist_predictions(nb, images):
    """Class indices of mnist_model for images (N, 1, 28, 28) in [0, 1], sent flattened to (N, 784)."""
    return predict_labels(
        nb.mnist_model,
        images,
        default_device=nb.device,
        prepare=lambda batch: batch.reshape(len(batch), -1),
    )
