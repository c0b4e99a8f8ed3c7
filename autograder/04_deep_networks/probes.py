"""Probes for Module 4: run in the worker against the student's notebook, return data only.

Each probe builds or calls the student's code on inputs the judge chose and returns tensors
and plain values. No expected values here: the judge compares.
"""

import contextlib
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse import probing

TRACKED = ("Linear", "BatchNorm1d", "Dropout", "ReLU", "Tanh", "Sigmoid")


def _in_module_lists(model):
    """ids of the modules held (directly or deeper) in an nn.ModuleList of the model."""
    inside = set()
    for module in model.modules():
        if isinstance(module, nn.ModuleList):
            inside.update(id(m) for m in module.modules())
    return inside


# --- Exercise 1: DeepNet ---


def _snapshot(module):
    """What the judge needs to know about one tracked module that just ran."""
    kind = type(module).__name__
    if kind in ("ReLU", "Tanh", "Sigmoid"):
        return {"kind": "activation", "name": kind}
    entry = {"kind": kind}
    if kind == "Linear":
        entry.update(weight=module.weight, bias=module.bias)
    elif kind == "BatchNorm1d":
        entry.update(
            weight=module.weight,
            bias=module.bias,
            running_mean=module.running_mean,
            running_var=module.running_var,
            eps=float(module.eps),
        )
    elif kind == "Dropout":
        entry.update(p=float(module.p))
    return entry


def deep_net(nb, sizes, activation, dropout, batch_norm, x, warmup, seed):
    """DeepNet's eval-mode output after `warmup` training passes, and its modules in run order.

    The Linear / BatchNorm1d / activation / Dropout modules come in the order they ran (with
    their parameters, and whether an nn.ModuleList holds them), then its modules and parameter
    count.
    """
    torch.manual_seed(seed)
    model = nb.DeepNet(sizes, activation=activation, dropout=dropout, batch_norm=batch_norm)
    calls = []
    listed = _in_module_lists(model)

    def hook(module, inputs, output):
        calls.append({**_snapshot(module), "in_module_list": id(module) in listed})

    handles = [
        m.register_forward_hook(hook) for m in model.modules() if type(m).__name__ in TRACKED
    ]
    with torch.no_grad():
        model.train()
        for _ in range(warmup):
            model(x)
        calls.clear()
        model.eval()
        out = model(x)
    for handle in handles:
        handle.remove()
    return {
        "out": out,
        "calls": calls,
        "modules": [type(m).__name__ for m in model.modules()],
        "n_params": sum(p.numel() for p in model.parameters()),
    }


# --- Exercise 2: init_uniform_, init_xavier_, init_he_ ---


def init_layer(nb, scheme, fan_in, fan_out, a, seed):
    """A layer's weight and bias after the student's initializer, whether it returned the layer,
    and whether it changed the weight in place (same tensor, same storage)."""
    torch.manual_seed(seed)
    layer = nn.Linear(fan_in, fan_out)
    with torch.no_grad():
        layer.bias.fill_(1.0)  # so that a missing bias reset shows
    weight, storage = layer.weight, layer.weight.data_ptr()
    if scheme == "uniform":
        returned = nb.init_uniform_(layer, a)
    elif scheme == "xavier":
        returned = nb.init_xavier_(layer)
    else:
        returned = nb.init_he_(layer)
    return {
        "weight": layer.weight,
        "bias": layer.bias,
        "returned_layer": returned is layer,
        "in_place": layer.weight is weight and layer.weight.data_ptr() == storage,
        "requires_grad": bool(layer.weight.requires_grad),
    }


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


# --- Exercise 3: activation_stds ---


class _FunctionalNet(nn.Module):
    """Linear layers registered last layer first, run first layer first; tanh applied
    functionally (no activation modules): model.modules() order is not the order they run."""

    def __init__(self, sizes):
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Linear(a, b) for a, b in reversed(list(zip(sizes[:-1], sizes[1:])))
        )

    def forward(self, x):
        for k, block in enumerate(reversed(self.blocks)):
            x = block(x)
            if k < len(self.blocks) - 1:
                x = torch.tanh(x)
        return x


class _NormalizedNet(nn.Module):
    """Linear -> BatchNorm1d -> ReLU blocks and a last Linear: its output depends on the mode."""

    def __init__(self, sizes):
        super().__init__()
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(b) for b in sizes[1:-1])

    def forward(self, x):
        for k, linear in enumerate(self.linears):
            x = linear(x)
            if k < len(self.norms):
                x = torch.relu(self.norms[k](x))
        return x


def _hooks_left(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def activation_stds(nb, style, sizes, x, seed):
    """activation_stds on a judge-built model, its Linear layers in run order, hooks left behind.

    The model is a Sequential, or one whose modules are registered in another order than they run.
    """
    torch.manual_seed(seed)
    if style == "sequential":
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        model = nn.Sequential(*layers[:-1])
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    else:
        model = _FunctionalNet(sizes)
        linears = list(reversed(model.blocks))
    stds = nb.activation_stds(model, x)
    return {
        "stds": list(stds) if isinstance(stds, tuple) else stds,
        "weights": [m.weight for m in linears],
        "biases": [m.bias for m in linears],
        "hooks_left": _hooks_left(model),
    }


def activation_stds_mode(nb, sizes, x, training, running, seed):
    """activation_stds on a model with batch norm left in the given mode (running statistics from
    the judge): its answer, the model's parameters, and every module's mode afterwards."""
    torch.manual_seed(seed)
    model = _NormalizedNet(sizes)
    with torch.no_grad():
        for norm, (mean, var) in zip(model.norms, running):
            norm.running_mean.copy_(mean)
            norm.running_var.copy_(var)
    model.train(training)
    stds = nb.activation_stds(model, x)
    return {
        "stds": list(stds) if isinstance(stds, tuple) else stds,
        "weights": [m.weight for m in model.linears],
        "biases": [m.bias for m in model.linears],
        "modes": [bool(m.training) for m in model.modules()],
        "hooks_left": _hooks_left(model),
    }


# --- Exercise 4: gradient_norms ---

_ACTIVATION_FUNCTIONS = {"relu": torch.relu, "tanh": torch.tanh}


class _Mlp(nn.Module):
    """Linear layers with the judge's weights (in an nn.ModuleList `layers`) and a functional
    activation (None: no activation); optionally batch norm after each hidden Linear (weight 1,
    bias 0, the judge's running statistics) and a softmax over `softmax_dim` at the end."""

    def __init__(self, weights, biases, activation="relu", running=None, softmax_dim=None):
        super().__init__()
        self.layers = nn.ModuleList()
        for weight, bias in zip(weights, biases):
            layer = nn.Linear(weight.shape[1], weight.shape[0])
            with torch.no_grad():
                layer.weight.copy_(weight)
                layer.bias.copy_(bias)
            self.layers.append(layer)
        self.norms = None
        if running is not None:
            self.norms = nn.ModuleList(nn.BatchNorm1d(len(mean)) for mean, _ in running)
            with torch.no_grad():
                for norm, (mean, var) in zip(self.norms, running):
                    norm.running_mean.copy_(mean)
                    norm.running_var.copy_(var)
        self.activation = activation
        self.softmax_dim = softmax_dim

    def forward(self, x):
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < len(self.layers) - 1:
                if self.norms is not None:
                    x = self.norms[k](x)
                if self.activation is not None:
                    x = _ACTIVATION_FUNCTIONS[self.activation](x)
        if self.softmax_dim is not None:
            x = torch.softmax(x, dim=self.softmax_dim)
        return x


def _as_list(value):
    return list(value) if isinstance(value, tuple) else value


def _grads(model):
    return [None if p.grad is None else p.grad.clone() for p in model.parameters()]


def gradient_norms(nb, weights, biases, activation, x, y, stale, running=None, training=True):
    """gradient_norms on a judge-built model holding the judge's stale .grad, in the given mode:
    its answer, then every parameter, .grad and module mode after the call."""
    model = _Mlp(weights, biases, activation, running)
    model.train(training)
    for p, old in zip(model.parameters(), stale):
        p.grad = old.clone()
    norms = nb.gradient_norms(model, x, y)
    return {
        "norms": _as_list(norms),
        "params_after": [p.detach().clone() for p in model.parameters()],
        "grads_after": _grads(model),
        "modes": [bool(m.training) for m in model.modules()],
    }


def gradient_norms_depth(nb, scheme, sizes, x, y, seed):
    """gradient_norms of a ReLU nn.Sequential initialized here ("he": N(0, 2 / fan_in), "uniform":
    U(-0.01, 0.01), biases 0; not with the student's initializers)."""
    torch.manual_seed(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layer = nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            if scheme == "he":
                layer.weight.normal_(0.0, (2.0 / fan_in) ** 0.5)
            else:
                layer.weight.uniform_(-0.01, 0.01)
            layer.bias.zero_()
        layers += [layer, nn.ReLU()]
    return _as_list(nb.gradient_norms(nn.Sequential(*layers[:-1]), x, y))


# --- Exercise 5: dropout ---


def dropout_twice(nb, x, p, seed):
    """Two training-mode calls of dropout on the same x."""
    torch.manual_seed(seed)
    first = nb.dropout(x, p, True)
    second = nb.dropout(x, p, True)
    return [first, second]


def dropout_device(nb, shape, p):
    """The device of dropout's result for an input on the "meta" device (a device other than the
    CPU that every machine has), or what the call raised."""
    try:
        out = nb.dropout(torch.empty(shape, device="meta"), p, True)
    except Exception as exc:  # noqa: BLE001 (a mask made on another device raises here)
        return {"device": None, "error": type(exc).__name__}
    return {"device": str(out.device) if isinstance(out, torch.Tensor) else None, "error": None}


def dropout_calls(nb, xs, ps, training, seed):
    """dropout's results for each (x, p), training=True by default or training=False, and each x
    as it is after the call (to see whether dropout changed it)."""
    torch.manual_seed(seed)
    if training:
        out = [nb.dropout(x, p) for x, p in zip(xs, ps)]
    else:
        out = [nb.dropout(x, p, False) for x, p in zip(xs, ps)]
    return {"out": out, "inputs_after": xs}


# --- Exercise 6: BatchNorm1d ---


def _refuse(*args, **kwargs):
    raise RuntimeError(
        "this exercise asks for batch normalization by hand: PyTorch's batch norm "
        "is switched off while it is graded"
    )


@contextlib.contextmanager
def _without_torch_batch_norm():
    """PyTorch's own batch norm raises while the student's BatchNorm1d runs."""
    targets = [(F, "batch_norm"), (torch, "batch_norm"), (torch, "native_batch_norm")]
    saved = [(owner, name, getattr(owner, name)) for owner, name in targets if hasattr(owner, name)]
    for owner, name, _ in saved:
        setattr(owner, name, _refuse)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def _batch_norm(nb, num_features, kwargs, weight, bias):
    bn = nb.BatchNorm1d(num_features, **kwargs)
    with torch.no_grad():
        bn.weight.copy_(weight)
        bn.bias.copy_(bias)
    return bn


def batch_norm_state(nb, num_features):
    """A fresh BatchNorm1d's named parameters and buffers."""
    bn = nb.BatchNorm1d(num_features)
    return {
        "parameters": {name: p for name, p in bn.named_parameters()},
        "buffers": {name: b for name, b in bn.named_buffers()},
    }


def batch_norm_train(nb, num_features, kwargs, weight, bias, batches, directions):
    """Training-mode steps of the student's BatchNorm1d: outputs, running statistics, gradients.

    PyTorch's batch norm is switched off; the gradients are those of sum(output * direction)
    with respect to the input, weight and bias.
    """
    with _without_torch_batch_norm():
        bn = _batch_norm(nb, num_features, kwargs, weight, bias)
        bn.train()
        steps = []
        for xb, direction in zip(batches, directions):
            xb = xb.clone().requires_grad_(True)
            out = bn(xb)
            bn.zero_grad()
            (out * direction).sum().backward()
            steps.append(
                {
                    "out": out,
                    "running_mean": bn.running_mean.clone(),
                    "running_var": bn.running_var.clone(),
                    "grad_x": xb.grad,
                    "grad_weight": bn.weight.grad,
                    "grad_bias": bn.bias.grad,
                }
            )
    return steps


def batch_norm_eval(nb, num_features, kwargs, weight, bias, running_mean, running_var, x):
    """The student's BatchNorm1d in eval mode with the judge's running statistics (PyTorch's batch
    norm switched off): its output and its running statistics afterwards."""
    with _without_torch_batch_norm():
        bn = _batch_norm(nb, num_features, kwargs, weight, bias)
        with torch.no_grad():
            bn.running_mean.copy_(running_mean)
            bn.running_var.copy_(running_var)
        bn.eval()
        out = bn(x)
    return {"out": out, "running_mean": bn.running_mean, "running_var": bn.running_var}


# --- Exercise 7: sgd_momentum_step and adam_step ---


def _params(values):
    return [v.clone().requires_grad_(True) for v in values]


def _set_grads(params, grads):
    for p, g in zip(params, grads):
        p.grad = g.clone()


def sgd_momentum(nb, values, grads, lr, momentum):
    """Parameters after one sgd_momentum_step per list of gradients, and whether each is a leaf.

    Not probing.optimizer_step: the state lives across steps and the leaf check needs the very
    tensors the student updated.
    """
    params = _params(values)
    velocities = [torch.zeros_like(p) for p in params]
    for step_grads in grads:
        _set_grads(params, step_grads)
        nb.sgd_momentum_step(params, velocities, lr, momentum)
    return {"params": params, "leaf": [p.is_leaf and p.requires_grad for p in params]}


def adam(nb, values, grads, lr, betas, eps):
    """Parameters after one adam_step (t = 1, 2, ...) per list of gradients, and leaf flags."""
    params = _params(values)
    state = [{"m": torch.zeros_like(p), "v": torch.zeros_like(p)} for p in params]
    for t, step_grads in enumerate(grads, start=1):
        _set_grads(params, step_grads)
        nb.adam_step(params, state, lr, tuple(betas), eps, t)
    return {"params": params, "leaf": [p.is_leaf and p.requires_grad for p in params]}


# --- Exercise 8: initial_loss_ok, overfit_one_batch, find_nonfinite ---


def initial_loss(nb, weights, biases, activation, x, num_classes, tol, training):
    """initial_loss_ok on a judge-built MLP (tol=None: the default), and the modes afterwards."""
    model = _Mlp(weights, biases, activation)
    model.train(training)
    if tol is None:
        ok = nb.initial_loss_ok(model, x, num_classes)
    else:
        ok = nb.initial_loss_ok(model, x, num_classes, tol=tol)
    return {"ok": ok, "modes": [bool(m.training) for m in model.modules()]}


def overfit(nb, weights, biases, x, y, steps, frozen):
    """overfit_one_batch on a judge-built ReLU MLP put in eval mode first (`frozen`: its first
    Linear does not require gradients): the losses, the layers afterwards and the mode."""
    model = _Mlp(weights, biases, "relu")
    if frozen:
        model.layers[0].requires_grad_(False)
    model.eval()
    losses = nb.overfit_one_batch(model, x, y, steps)
    return {
        "losses": _as_list(losses),
        "weights": [layer.weight.detach().clone() for layer in model.layers],
        "biases": [layer.bias.detach().clone() for layer in model.layers],
        "training": bool(model.training),
    }


def find_nonfinite(nb, weights, biases, x, y, frozen, values, grads, loss_value, pass_loss):
    """find_nonfinite's answer after a real backward pass on a judge-built MLP with planted NaN/Inf.

    `values` and `grads` are [parameter index, flat index, value] triples, `frozen` the
    parameters that do not require gradients, `loss_value` is added to the loss."""
    model = _Mlp(weights, biases, "relu")
    params = list(model.parameters())
    for index in frozen:
        params[index].requires_grad_(False)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    with torch.no_grad():
        for index, entry, value in values:
            params[index].view(-1)[entry] = value
        for index, entry, value in grads:
            params[index].grad.view(-1)[entry] = value
    loss = loss.detach() + loss_value
    answer = nb.find_nonfinite(model, loss) if pass_loss else nb.find_nonfinite(model)
    return {"answer": answer, "names": [name for name, _ in model.named_parameters()]}


# --- Exercise 9: diagnose ---


def _initial_loss_ok(model, x, num_classes, tol=0.1):
    """The notebook's initial_loss_ok as its text defines it, for diagnose to call while it is
    graded: diagnose's grade does not depend on the student's initial_loss_ok."""
    with torch.no_grad():
        loss = -F.log_softmax(model(x), dim=1).mean().item()
    return abs(loss - math.log(num_classes)) <= tol * math.log(num_classes)


def diagnose(nb, weights, biases, activation, softmax_dim, frozen, x, training):
    """diagnose's label for a judge-built MLP, and the model's parameters and modes afterwards.

    activation None: none; softmax_dim: a softmax at the end; frozen: the index of a Linear
    whose weight does not require gradients."""
    model = _Mlp(weights, biases, activation, softmax_dim=softmax_dim)
    if frozen is not None:
        model.layers[frozen].weight.requires_grad_(False)
    model.train(training)
    with nb.substitute(initial_loss_ok=_initial_loss_ok):
        label = nb.diagnose(model, x)
    return {
        "label": label,
        "params_after": [p.detach().clone() for p in model.parameters()],
        "modes": [bool(m.training) for m in model.modules()],
    }


# --- Exercise 10: mnist_model ---


def mnist_model_info(nb, x):
    """mnist_model's class, modules, and the kinds of the tracked modules that run in one
    eval-mode forward pass on x (its mode is restored afterwards)."""
    model = nb.mnist_model
    ran = []
    handles = [
        m.register_forward_hook(lambda m, i, o: ran.append(type(m).__name__))
        for m in model.modules()
        if type(m).__name__ in TRACKED
    ]
    training = model.training
    try:
        model.eval()
        with torch.no_grad():
            out = model(x.to(probing.model_device(model, nb.device)))
    finally:
        for handle in handles:
            handle.remove()
        model.train(training)
    return {
        "class": type(model).__name__,
        "modules": probing.describe(model)["modules"],
        "ran": ran,
        "out_shape": list(out.shape),
    }


def mnist_predictions(nb, images):
    """The notebook's contract: eval mode, images standardized and flattened, on the model's device."""
    return probing.predict_labels(
        nb.mnist_model,
        images,
        default_device=nb.device,
        prepare=lambda b: probing.standardize(b).reshape(len(b), -1),
    )
