"""Probes for Module 3: run in the worker against the student's notebook, return data only.

Each probe builds or calls the student's code on inputs the judge chose and returns tensors
and plain values. No expected values here: the judge compares. Where an exercise uses another
exercise's code (train_xor and fit_curves build a ShallowNet), the probe substitutes a
reference ShallowNet, so that each test depends only on the function it grades.
"""

import torch
import torch.nn as nn

from dlcourse import probing

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class _ReferenceShallowNet(nn.Module):
    """The exercise's ShallowNet, for probes of functions that build one."""

    def __init__(self, in_features, hidden, out_features, activation="relu"):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.activation = _ACTIVATIONS[activation]()
        self.output = nn.Linear(hidden, out_features)

    def forward(self, x):
        return self.output(self.activation(self.hidden(x)))


def _load_linears(model, layers):
    """Copy (weight, bias) pairs into the model's nn.Linear layers whose weight has that shape."""
    loaded, linears = 0, 0
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                linears += 1
                for weight, bias in layers:
                    if tuple(module.weight.shape) == tuple(weight.shape):
                        module.weight.copy_(weight)
                        module.bias.copy_(bias)
                        loaded += 1
    return loaded, linears


def _forward_with(model, W1, b1, W2, b2, x):
    """Load the judge's weights into the student's two-layer model and run it on x."""
    loaded, linears = _load_linears(model, [(W1, b1), (W2, b2)])
    with torch.no_grad():
        out = model(x)
    return {
        "out": out,
        "loaded": loaded,
        "linears": linears,
        "parameters": list(model.parameters()),
        **probing.describe(model),
    }


# --- Exercise 1: ShallowNet ---


def shallow_net(nb, in_features, hidden, out_features, activation, **weights_and_x):
    """ShallowNet's output with the judge's weights loaded, its parameters in order, its structure."""
    return _forward_with(
        nb.ShallowNet(in_features, hidden, out_features, activation), **weights_and_x
    )


def shallow_net_bad_activation(nb, name):
    """The type name of what ShallowNet(2, 3, 1, name) raised, or None when it raised nothing."""
    try:
        nb.ShallowNet(2, 3, 1, name)
    except Exception as exc:  # noqa: BLE001 (which exception is the judge's question)
        return "ValueError" if isinstance(exc, ValueError) else type(exc).__name__
    return None


# --- Exercise 2: make_sequential ---


def make_sequential(nb, in_features, hidden, out_features, activation, **weights_and_x):
    """make_sequential's output with the judge's weights loaded, and what each child computes."""
    seq = nb.make_sequential(in_features, hidden, out_features, activation)
    got = _forward_with(seq, **weights_and_x)
    children = list(seq.children())
    if len(children) == 3:  # each child alone, on what the chain feeds it
        with torch.no_grad():
            z = children[0](weights_and_x["x"])
            got["steps"] = [z, children[1](z), children[2](children[1](z))]
    return got


def make_sequential_bad_activation(nb, name):
    """The type name of what make_sequential(2, 3, 1, name) raised, or None."""
    try:
        nb.make_sequential(2, 3, 1, name)
    except Exception as exc:  # noqa: BLE001
        return "ValueError" if isinstance(exc, ValueError) else type(exc).__name__
    return None


# --- Exercise 3: forward_backward ---


def forward_backward(nb, x, y, W1, b1, W2, b2, loss):
    """forward_backward's (loss, grads), called in inference mode: autograd cannot run at all."""
    with torch.inference_mode():
        args = [t.clone() for t in (x, y, W1, b1, W2, b2)]
        value, grads = nb.forward_backward(*args, loss=loss)
    return {"loss": value, "grads": dict(grads) if isinstance(grads, dict) else grads}


# --- Exercise 3b: numerical_gradient ---


def numerical_gradient(nb, x, eps, A, b, w, c):
    """numerical_gradient of the judge's smooth function f at x, called in inference mode (no
    autograd), and x as it is after the call."""

    def f(t):
        flat = t.reshape(-1)
        return (w * torch.sin(A @ flat + b)).sum() + 0.5 * (c * flat * flat).sum()

    with torch.inference_mode():
        x = x.clone()
        grad = nb.numerical_gradient(f, x, eps)
        return {"grad": grad, "x_after": x.clone()}


# --- Exercise 4: train_xor ---


def train_xor(nb, hidden, epochs, seed, x, repeat=False):
    """train_xor's model (built with the reference ShallowNet): its eval-mode output on x, its
    class and structure, and, with repeat, the output of a second run with the same seed."""
    with nb.substitute(ShallowNet=_ReferenceShallowNet):
        models = [nb.train_xor(hidden, epochs, seed) for _ in range(2 if repeat else 1)]
    outputs = []
    for model in models:
        model.eval()
        with torch.no_grad():
            outputs.append(model(x.to(probing.model_device(model))))
    info = probing.describe(model)
    info["is_reference"] = type(model) is _ReferenceShallowNet
    info["activation"] = type(getattr(model, "activation", None)).__name__
    info["linear_shapes"] = [
        list(m.weight.shape) for m in model.modules() if isinstance(m, nn.Linear)
    ]
    return {"out": outputs[0], "again": outputs[1] if repeat else None, **info}


# --- Exercise 5: fit_1d ---


def _outputs(model, grid):
    """A 1-D model's eval-mode output on the grid, on the model's own device."""
    model.eval()
    with torch.no_grad():
        return model(grid.to(probing.model_device(model)))


def fit_1d(nb, hidden, x, y, epochs, seed, grid, repeat=False):
    """fit_1d's model for the judge's points: its outputs, layers, structure, and inputs after.

    Its output on the grid, the weight and bias of each of its nn.Linear layers (in module
    order), x and y as they are after the call, its structure, and, with repeat, the output of
    a second call with the same arguments."""
    xs, ys = x.clone(), y.clone()
    model = nb.fit_1d(hidden, xs, ys, epochs, seed)
    got = {
        "linears": [[m.weight, m.bias] for m in model.modules() if isinstance(m, nn.Linear)],
        "x_after": xs.clone(),
        "y_after": ys.clone(),
        **probing.describe(model),
    }
    got["out"] = _outputs(model, grid)
    if repeat:
        got["again"] = _outputs(nb.fit_1d(hidden, x.clone(), y.clone(), epochs, seed), grid)
    return got


def fit_1d_structure(nb, hidden, x, y, W1, b1, W2, b2, grid):
    """fit_1d's model (one epoch) with the judge's weights loaded, run on the grid."""
    model = nb.fit_1d(hidden, x.clone(), y.clone(), 1, 0)
    return _forward_with(model, W1, b1, W2, b2, grid)


def fit_1d_widths(nb, widths, x, y, epochs, seed, grid):
    """The output on the grid of fit_1d's model for each width, trained on the judge's points."""
    return [_outputs(nb.fit_1d(h, x.clone(), y.clone(), epochs, seed), grid) for h in widths]


# --- Exercise 6: width_for_budget ---


def width_for_budget(nb, n_in, n_out, budget, depth):
    """width_for_budget's answer, as returned."""
    return nb.width_for_budget(n_in, n_out, budget, depth)


def width_for_budget_error(nb, n_in, n_out, budget, depth):
    """What width_for_budget did: {"raised": the exception's type name} or {"value": answer}."""
    try:
        value = nb.width_for_budget(n_in, n_out, budget, depth)
    except Exception as exc:  # noqa: BLE001 (which exception is the judge's question)
        return {"raised": "ValueError" if isinstance(exc, ValueError) else type(exc).__name__}
    return {"value": value}


# --- Exercise 7: layer_gradient_norms ---


def _stack(layers, activations):
    """nn.Sequential of Linear layers with the given weights, activation modules in between."""
    modules = []
    for k, (weight, bias) in enumerate(layers):
        linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            linear.weight.copy_(weight)
            linear.bias.copy_(bias)
        modules.append(linear)
        if k < len(activations):
            modules.append(_ACTIVATIONS[activations[k]]())
    return nn.Sequential(*modules)


def layer_gradient_norms(nb, layers, activations, x, y, stale):
    """What layer_gradient_norms returns (as it is) for a judge-built stack; with `stale`, the
    stack already holds gradients of another loss."""
    model = _stack(layers, activations)
    if stale:  # leave old gradients behind, as a previous backward pass would
        (model(x) ** 2).sum().backward()
    norms = nb.layer_gradient_norms(model, x, y)
    return list(norms) if isinstance(norms, tuple) else norms


# --- Exercise 8: fit_curves ---


def fit_curves(nb, hidden_sizes, weight_decay, data, epochs, lr, seed):
    """fit_curves' curves (built with the reference ShallowNet), and every model's initial
    parameters in the order the models were built."""
    initial = []

    class Recorded(_ReferenceShallowNet):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            initial.append([p.detach().clone() for p in self.parameters()])

    with nb.substitute(ShallowNet=Recorded):
        train_losses, val_losses = nb.fit_curves(
            hidden_sizes, weight_decay, tuple(data), epochs=epochs, lr=lr, seed=seed
        )
    return {"train": train_losses, "val": val_losses, "initial": initial}


# --- Exercise 9: class_weights and balanced_accuracy ---


def class_weights(nb, y, num_classes):
    """class_weights(y) or class_weights(y, num_classes), as returned."""
    if num_classes is None:
        return nb.class_weights(y)
    return nb.class_weights(y, num_classes)


def balanced_accuracy(nb, preds, y):
    """balanced_accuracy(preds, y), as returned."""
    return nb.balanced_accuracy(preds, y)


def weighted_training(nb, x, y, x_test, seed):
    """Predictions on x_test of the same linear softmax classifier trained without and with the
    student's class weights."""
    out = {}
    for name, weight in [("plain", None), ("weighted", nb.class_weights(y))]:
        torch.manual_seed(seed)
        model = nn.Linear(x.shape[1], int(y.max()) + 1)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        loss_fn = nn.CrossEntropyLoss(
            weight=None if weight is None else torch.as_tensor(weight).float().cpu()
        )
        for _ in range(300):
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        with torch.no_grad():
            out[name] = model(x_test).argmax(1)
    return out


# --- Exercise 10: mnist_model ---


def mnist_predictions(nb, images):
    """mnist_model's digits for the images, standardised and flattened, eval mode, its device."""
    return probing.predict_labels(
        nb.mnist_model,
        images,
        default_device=nb.device,
        prepare=lambda b: probing.standardize(b).reshape(len(b), -1),
    )
