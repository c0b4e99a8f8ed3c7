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


def _softmax(z):
    return torch.softmax(z, dim=1)


def _one_hot(y, num_classes):
    return F.one_hot(y, num_classes).float()


def _categorical_cross_entropy(logits, y):
    return F.cross_entropy(logits, y)


def _predict(model, x):
    with torch.no_grad():
        return model(x).argmax(dim=1)


REFERENCES = {"softmax": _softmax, "one_hot": _one_hot,
              "categorical_cross_entropy": _categorical_cross_entropy, "predict": _predict}


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
    with _references(nb, "softmax"):
        return nb.softmax(z)


def one_hot(nb, y, num_classes):
    with _references(nb, "one_hot"):
        return nb.one_hot(y, num_classes)


def categorical_cross_entropy(nb, logits, y):
    with _references(nb, "categorical_cross_entropy"):
        return nb.categorical_cross_entropy(logits, y)


# --- Exercise 4 ----------------------------------------------------------------------

def softmax_regression(nb, in_features, num_classes, x, seed):
    torch.manual_seed(seed)
    with _references(nb):
        model = nb.SoftmaxRegression(in_features, num_classes)
        with torch.no_grad():
            out = model(x)
    return {"out": out, "params": list(model.parameters()),
            "modules": [type(m).__name__ for m in model.modules()]}


def predict(nb, weight, bias, x):
    with _references(nb, "predict"):
        return nb.predict(_linear(weight, bias), x)


# --- Exercises 5 and 6 ---------------------------------------------------------------

def train_softmax(nb, weight, bias, x, y, lr, epochs, x_test):
    model = _linear(weight, bias)
    with _references(nb):
        history = nb.train_softmax(model, x, y, lr, epochs)
    with torch.no_grad():
        test_logits = model(x_test)
    history = list(history) if isinstance(history, (list, tuple)) else history
    return {"history": history, "weight": model.weight, "bias": model.bias, "test_logits": test_logits}


def decision_regions(nb, weight, bias, xs, ys):
    with _references(nb):
        return nb.decision_regions(_linear(weight, bias), xs, ys)


# --- MNIST ---------------------------------------------------------------------------

def _device(model, nb):
    first = next(iter(model.parameters()), None)
    return first.device if first is not None else nb.device


def mnist_parameters(nb):
    return [tuple(p.shape) for p in nb.mnist_model.parameters()]


def mnist_predictions(nb, images):
    """Class indices of mnist_model for images (N, 1, 28, 28) in [0, 1], sent flattened to (N, 784)."""
    model = nb.mnist_model
    device = _device(model, nb)
    model.eval()
    out = []
    with torch.no_grad():
        for batch in images.split(1000):
            logits = model(batch.reshape(len(batch), -1).to(device))
            out.append(logits.argmax(dim=1).cpu())
    return torch.cat(out)
