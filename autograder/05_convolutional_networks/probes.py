"""Probes for Module 5: run in the worker against the student's notebook, return data only.

Each probe builds or calls the student's code on inputs the judge chose and returns tensors
and plain values. No expected values here: the judge compares. Pure functions (conv2d,
max_pool2d, ...) run on the CPU tensors the judge sent; only the trained `mnist_model` runs on
its own device.
"""

import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F


# --- helpers -----------------------------------------------------------------------------

@contextlib.contextmanager
def _count_calls(targets):
    """Count calls to library functions (module, attribute name) while the block runs."""
    calls = [0]
    originals = []
    for module, name in targets:
        if not hasattr(module, name):
            continue
        original = getattr(module, name)

        def counted(*args, _original=original, **kwargs):
            calls[0] += 1
            return _original(*args, **kwargs)

        originals.append((module, name, original))
        setattr(module, name, counted)
    try:
        yield calls
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


_CONV_BUILTINS = [(F, "conv2d"), (torch, "conv2d"), (torch, "convolution"), (torch, "_convolution")]
_POOL_BUILTINS = [(F, "max_pool2d"), (F, "max_pool2d_with_indices"), (torch, "max_pool2d"),
                  (torch, "max_pool2d_with_indices")]


def _leaf_calls(model, x):
    """(type name, output shape) of every call of a leaf module during model(x), in call order."""
    calls = []

    def record(module, inputs, output):
        calls.append((type(module).__name__, tuple(output.shape) if isinstance(output, torch.Tensor) else None))

    handles = [m.register_forward_hook(record) for m in model.modules() if next(m.children(), None) is None]
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return out, calls


def _build_layer(spec):
    kind = spec[0]
    if kind == "conv":
        _, c_in, c_out, k, s, p = spec
        return nn.Conv2d(c_in, c_out, k, stride=s, padding=p)
    if kind == "bn":
        return nn.BatchNorm2d(spec[1])
    if kind == "relu":
        return nn.ReLU()
    if kind == "pool":
        return nn.MaxPool2d(spec[1])
    if kind == "flatten":
        return nn.Flatten()
    if kind == "linear":
        return nn.Linear(spec[1], spec[2])
    raise ValueError(kind)


def _build_sequential(groups):
    return nn.Sequential(*[nn.Sequential(*[_build_layer(layer) for layer in group]) for group in groups])


class _CallOrderNet(nn.Module):
    """Modules registered in another order than they are called; the ReLU and pool run twice."""

    def __init__(self, channels, height, width, num_classes):
        super().__init__()
        self.head = nn.Linear(12 * (height // 4) * (width // 4), num_classes)
        self.pool = nn.MaxPool2d(2)
        self.conv_b = nn.Conv2d(8, 12, 3, padding=1)
        self.act = nn.ReLU()
        self.conv_a = nn.Conv2d(channels, 8, 3, padding=1)
        self.flat = nn.Flatten()

    def forward(self, x):
        x = self.pool(self.act(self.conv_a(x)))
        x = self.pool(self.act(self.conv_b(x)))
        return self.head(self.flat(x))


# --- Exercise 1: output sizes ----------------------------------------------------------------

def conv_output_size(nb, configs):
    return [nb.conv_output_size(c["size"], c["kernel_size"], **{k: v for k, v in c.items()
                                                                  if k not in ("size", "kernel_size")})
            for c in configs]


def pool_output_size(nb, configs):
    return [nb.pool_output_size(c["size"], c["kernel_size"], **{k: v for k, v in c.items()
                                                                  if k not in ("size", "kernel_size")})
            for c in configs]


# --- Exercises 2 and 3: conv2d and max_pool2d by hand ---------------------------------------

def conv2d(nb, x, weight, bias, options):
    with _count_calls(_CONV_BUILTINS) as calls:
        out = nb.conv2d(x, weight, bias, **options)
    return {"out": out, "builtin_calls": calls[0]}


def max_pool2d(nb, x, kernel_size, options):
    with _count_calls(_POOL_BUILTINS) as calls:
        out = nb.max_pool2d(x, kernel_size, **options)
    return {"out": out, "builtin_calls": calls[0]}


# --- Exercise 4: SimpleCNN -------------------------------------------------------------------

def simple_cnn(nb, in_channels, num_classes, x, seed):
    torch.manual_seed(seed)
    model = nb.SimpleCNN(in_channels=in_channels, num_classes=num_classes)
    out, calls = _leaf_calls(model, x)
    return {"out": out, "calls": calls, "n_params": sum(p.numel() for p in model.parameters())}


# --- Exercise 5: activation_shapes ------------------------------------------------------------

def activation_shapes_sequential(nb, groups, x, seed):
    torch.manual_seed(seed)
    return nb.activation_shapes(_build_sequential(groups), x)


def activation_shapes_call_order(nb, channels, height, width, num_classes, x, seed):
    torch.manual_seed(seed)
    return nb.activation_shapes(_CallOrderNet(channels, height, width, num_classes), x)


# --- Exercise 6: get_device -------------------------------------------------------------------

def _describe_device(device):
    if isinstance(device, torch.device):
        return {"is_device": True, "type": device.type}
    return {"is_device": False, "type": type(device).__name__}


def get_device(nb):
    """get_device() as it is, then with CUDA reported available and reported missing."""
    answer = {"actual": _describe_device(nb.get_device()), "cuda_available": torch.cuda.is_available()}
    saved = (torch.cuda.is_available, torch.cuda.device_count)
    for available in (True, False):
        try:
            torch.cuda.is_available = lambda: available
            torch.cuda.device_count = lambda: int(available)
            answer["cuda" if available else "no_cuda"] = _describe_device(nb.get_device())
        finally:
            torch.cuda.is_available, torch.cuda.device_count = saved
    return answer


# --- The trained model -------------------------------------------------------------------------

def mnist_predictions(nb, images):
    """The digits mnist_model predicts for images in [0, 1] of shape (N, 1, 28, 28)."""
    model = nb.mnist_model
    device = next(model.parameters()).device
    model.eval()
    predictions = []
    with torch.no_grad():
        for i in range(0, len(images), 1000):
            predictions.append(model(images[i : i + 1000].to(device)).argmax(dim=1).cpu())
    return torch.cat(predictions)


# --- Exercise 7: BasicBlock -------------------------------------------------------------------

def basic_block(nb, configs, inputs, seed):
    results = []
    for (in_channels, out_channels, stride), x in zip(configs, inputs):
        torch.manual_seed(seed)
        block = nb.BasicBlock(in_channels, out_channels, stride=stride)
        with torch.no_grad():
            out = block(x)
        results.append({"out": out, "n_params": sum(p.numel() for p in block.parameters())})
    return results


def basic_block_zeroed(nb, in_channels, out_channels, stride, x, seed, zero_all):
    """A fresh block (training mode) with its 3x3 convolutions (or all of them) set to zero."""
    torch.manual_seed(seed)
    block = nb.BasicBlock(in_channels, out_channels, stride=stride)
    kept = []
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, nn.Conv2d):
                if zero_all or m.kernel_size != (1, 1):
                    m.weight.zero_()
                    if m.bias is not None:
                        m.bias.zero_()
                else:
                    kept.append({"weight": m.weight, "bias": m.bias})
        out = block(x)
    return {"out": out, "kept_convs": kept}


# --- Exercise 8: ResNet18 and the gradient experiment ------------------------------------------

def resnet18_outputs(nb, num_classes, inputs, seed):
    outs = []
    for x in inputs:
        torch.manual_seed(seed)
        model = nb.ResNet18(num_classes=num_classes, in_channels=x.shape[1]).eval()
        with torch.no_grad():
            outs.append(model(x))
    return outs


def resnet18_layout(nb, num_classes, in_channels):
    model = nb.ResNet18(num_classes=num_classes, in_channels=in_channels)
    return {"n_params": sum(p.numel() for p in model.parameters()),
            "blocks": sum(isinstance(m, nb.BasicBlock) for m in model.modules())}


def resnet18_gradients(nb, x, y, seed):
    """First layer's weight-gradient norm, with and without shortcuts (eval mode, fresh model)."""
    torch.manual_seed(seed)
    model = nb.ResNet18(num_classes=10, in_channels=x.shape[1]).eval()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    blocks = [m for m in model.modules() if isinstance(m, nb.BasicBlock)]

    def first_layer_gradient():
        called = []
        handles = [m.register_forward_hook(lambda module, inputs, output: called.append(module)) for m in convs]
        try:
            model.zero_grad()
            F.cross_entropy(model(x), y).backward()  # the probe's own loss
        finally:
            for handle in handles:
                handle.remove()
        return called[0].weight.grad.norm().item()

    residual = first_layer_gradient()
    for block in blocks:
        block.use_shortcut = False
    plain = first_layer_gradient()
    return {"residual": residual, "plain": plain, "blocks": len(blocks)}
