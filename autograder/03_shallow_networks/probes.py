"""Probes for Module 3: run in the worker against the student's notebook, return data only.

Each probe builds or calls the student's code on inputs the judge chose and returns tensors
and plain values. No expected values here: the judge compares.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # the normalisation load_mnist(normalize=True) applies


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


def _describe(model):
    return {"type": type(model).__name__,
            "is_sequential": isinstance(model, nn.Sequential),
            "children": [type(m).__name__ for m in model.children()],
            "modules": [type(m).__name__ for m in model.modules()],
            "n_params": sum(p.numel() for p in model.parameters())}


def _forward_with(model, W1, b1, W2, b2, x):
    """Load the judge's weights into the student's two-layer model and run it on x."""
    loaded, linears = _load_linears(model, [(W1, b1), (W2, b2)])
    with torch.no_grad():
        out = model(x)
    return {"out": out, "loaded": loaded, "linears": linears, **_describe(model)}


def shallow_net(nb, in_features, hidden, out_features, activation, **weights_and_x):
    return _forward_with(nb.ShallowNet(in_features, hidden, out_features, activation), **weights_and_x)


def make_sequential(nb, in_features, hidden, out_features, activation, **weights_and_x):
    return _forward_with(nb.make_sequential(in_features, hidden, out_features, activation), **weights_and_x)


def forward_backward(nb, x, y, W1, b1, W2, b2, loss):
    with torch.no_grad():  # by hand: autograd is off
        value, grads = nb.forward_backward(x, y, W1, b1, W2, b2, loss=loss)
    return {"loss": value, "grads": dict(grads) if isinstance(grads, dict) else grads}


def train_xor(nb, hidden, epochs, seed, x):
    model = nb.train_xor(hidden, epochs, seed)
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        return model(x.to(device))


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
            modules.append({"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[activations[k]]())
    return nn.Sequential(*modules)


def layer_gradient_norms(nb, layers, activations, x, y, stale):
    model = _stack(layers, activations)
    if stale:  # leave old gradients behind, as a previous backward pass would
        (model(x) ** 2).sum().backward()
    norms = nb.layer_gradient_norms(model, x, y)
    return [float(v) for v in norms]


def fit_curves(nb, hidden_sizes, weight_decay, data, epochs, lr, seed):
    train_losses, val_losses = nb.fit_curves(hidden_sizes, weight_decay, tuple(data), epochs=epochs, lr=lr, seed=seed)
    return {"train": train_losses, "val": val_losses}


def class_weights(nb, y, num_classes):
    if num_classes is None:
        return nb.class_weights(y)
    return nb.class_weights(y, num_classes)


def balanced_accuracy(nb, preds, y):
    return nb.balanced_accuracy(preds, y)


def weighted_training(nb, x, y, x_test, seed):
    """Train the same linear softmax classifier with and without the student's class weights."""
    out = {}
    for name, weight in [("plain", None), ("weighted", nb.class_weights(y))]:
        torch.manual_seed(seed)
        model = nn.Linear(x.shape[1], int(y.max()) + 1)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        loss_fn = nn.CrossEntropyLoss(weight=None if weight is None else torch.as_tensor(weight).float().cpu())
        for _ in range(300):
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        with torch.no_grad():
            out[name] = model(x_test).argmax(1)
    return out


def mnist_predictions(nb, images):
    model = nb.mnist_model
    model.eval()
    device = next(model.parameters()).device
    x = ((images - MNIST_MEAN) / MNIST_STD).reshape(len(images), -1)
    preds = []
    with torch.no_grad():
        for start in range(0, len(x), 1000):
            preds.append(model(x[start:start + 1000].to(device)).argmax(1).cpu())
    return torch.cat(preds)
