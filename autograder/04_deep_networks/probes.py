"""Probes for Module 4: run in the worker against the student's notebook, return data only.

Each probe builds or calls the student's code on inputs the judge chose and returns tensors
and plain values. No expected values here: the judge compares.
"""

import torch
import torch.nn as nn

TRACKED = ("Linear", "BatchNorm1d", "Dropout")
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # the standardization load_mnist(normalize=True) applies


# --- DeepNet ---------------------------------------------------------------------------

def _snapshot(module):
    """What the judge needs to know about one tracked module that just ran."""
    kind = type(module).__name__
    entry = {"kind": kind}
    if kind == "Linear":
        entry.update(weight=module.weight, bias=module.bias)
    elif kind == "BatchNorm1d":
        entry.update(weight=module.weight, bias=module.bias, running_mean=module.running_mean,
                     running_var=module.running_var, eps=float(module.eps))
    elif kind == "Dropout":
        entry.update(p=float(module.p))
    return entry


def deep_net(nb, sizes, activation, dropout, batch_norm, x, warmup, seed):
    """Build DeepNet, run `warmup` training-mode passes, then one eval pass recording the
    order in which its Linear / BatchNorm1d / Dropout modules run."""
    torch.manual_seed(seed)
    model = nb.DeepNet(sizes, activation=activation, dropout=dropout, batch_norm=batch_norm)
    calls = []

    def hook(module, inputs, output):
        calls.append(_snapshot(module))

    handles = [m.register_forward_hook(hook) for m in model.modules() if type(m).__name__ in TRACKED]
    with torch.no_grad():
        model.train()
        for _ in range(warmup):
            model(x)
        calls.clear()
        model.eval()
        out = model(x)
    for handle in handles:
        handle.remove()
    return {"out": out, "calls": calls, "modules": [type(m).__name__ for m in model.modules()],
            "n_params": sum(p.numel() for p in model.parameters())}


# --- Initialization --------------------------------------------------------------------

def init_layer(nb, scheme, fan_in, fan_out, a, seed):
    torch.manual_seed(seed)
    layer = nn.Linear(fan_in, fan_out)
    with torch.no_grad():
        layer.bias.fill_(1.0)  # so that a missing bias reset shows
    if scheme == "uniform":
        nb.init_uniform_(layer, a)
    elif scheme == "xavier":
        nb.init_xavier_(layer)
    else:
        nb.init_he_(layer)
    return {"weight": layer.weight, "bias": layer.bias}


def init_depth(nb, scheme, a, x, depth, seed):
    """Stds of the pre-activations of a deep ReLU stack initialized by the student's code
    (measured here, not with the student's activation_stds)."""
    torch.manual_seed(seed)
    width = x.shape[1]
    layers = [nn.Linear(width, width) for _ in range(depth)]
    for layer in layers:
        if scheme == "he":
            nb.init_he_(layer)
        else:
            nb.init_uniform_(layer, a)
    stds, h = [], x
    with torch.no_grad():
        for layer in layers:
            z = layer(h)
            stds.append(z.double().std().item())
            h = torch.relu(z)
    return stds


class _FunctionalNet(nn.Module):
    """Linear layers in a ModuleList, tanh applied functionally (no activation modules)."""

    def __init__(self, sizes):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for k, block in enumerate(self.blocks):
            x = block(x)
            if k < len(self.blocks) - 1:
                x = torch.tanh(x)
        return x


def activation_stds(nb, style, sizes, x, seed):
    torch.manual_seed(seed)
    if style == "sequential":
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        model = nn.Sequential(*layers[:-1])
    else:
        model = _FunctionalNet(sizes)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    stds = nb.activation_stds(model, x)
    if isinstance(stds, tuple):
        stds = list(stds)
    hooks_left = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    return {"stds": stds, "weights": [m.weight for m in linears], "biases": [m.bias for m in linears],
            "hooks_left": hooks_left}


# --- Dropout ---------------------------------------------------------------------------

def dropout_twice(nb, x, p, seed):
    torch.manual_seed(seed)
    first = nb.dropout(x, p, True)
    second = nb.dropout(x, p, True)
    return [first, second]


def dropout_calls(nb, xs, ps, training, seed):
    torch.manual_seed(seed)
    return [nb.dropout(x, p, training) for x, p in zip(xs, ps)]


# --- BatchNorm1d -----------------------------------------------------------------------

def _batch_norm(nb, num_features, kwargs, weight, bias):
    bn = nb.BatchNorm1d(num_features, **kwargs)
    with torch.no_grad():
        bn.weight.copy_(weight)
        bn.bias.copy_(bias)
    return bn


def batch_norm_state(nb, num_features):
    bn = nb.BatchNorm1d(num_features)
    return {"parameters": {name: p for name, p in bn.named_parameters()},
            "buffers": {name: b for name, b in bn.named_buffers()}}


def batch_norm_train(nb, num_features, kwargs, weight, bias, batches):
    bn = _batch_norm(nb, num_features, kwargs, weight, bias)
    bn.train()
    steps = []
    for xb in batches:
        out = bn(xb)
        steps.append({"out": out, "running_mean": bn.running_mean.clone(),
                      "running_var": bn.running_var.clone()})
    return steps


def batch_norm_eval(nb, num_features, kwargs, weight, bias, running_mean, running_var, x):
    bn = _batch_norm(nb, num_features, kwargs, weight, bias)
    with torch.no_grad():
        bn.running_mean.copy_(running_mean)
        bn.running_var.copy_(running_var)
    bn.eval()
    out = bn(x)
    return {"out": out, "running_mean": bn.running_mean, "running_var": bn.running_var}


# --- Optimizers ------------------------------------------------------------------------

def _params(values):
    return [v.clone().requires_grad_(True) for v in values]


def _set_grads(params, grads):
    for p, g in zip(params, grads):
        p.grad = g.clone()


def sgd_momentum(nb, values, grads, lr, momentum):
    params = _params(values)
    velocities = [torch.zeros_like(p) for p in params]
    for step_grads in grads:
        _set_grads(params, step_grads)
        nb.sgd_momentum_step(params, velocities, lr, momentum)
    return {"params": params, "leaf": [p.is_leaf and p.requires_grad for p in params]}


def adam(nb, values, grads, lr, betas, eps):
    params = _params(values)
    state = [{"m": torch.zeros_like(p), "v": torch.zeros_like(p)} for p in params]
    for t, step_grads in enumerate(grads, start=1):
        _set_grads(params, step_grads)
        nb.adam_step(params, state, lr, tuple(betas), eps, t)
    return {"params": params, "leaf": [p.is_leaf and p.requires_grad for p in params]}


# --- mnist_model -----------------------------------------------------------------------

def mnist_model_info(nb):
    model = nb.mnist_model
    return {"class": type(model).__name__, "modules": [type(m).__name__ for m in model.modules()]}


def mnist_predictions(nb, images):
    """The notebook's contract: eval mode, images standardized and flattened, on the model's device."""
    model = nb.mnist_model
    model.eval()
    device = next(model.parameters()).device
    x = ((images - MNIST_MEAN) / MNIST_STD).reshape(len(images), -1)
    predictions = []
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            predictions.append(model(x[i:i + 1000].to(device)).argmax(dim=1).cpu())
    return torch.cat(predictions)
