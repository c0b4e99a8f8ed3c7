"""Probes for Module 5: run in the worker against the student's notebook, return data only.

Each probe builds or calls the student's code on inputs the judge chose and returns tensors
and plain values. No expected values here: the judge compares. Pure functions (conv2d,
max_pool2d, ...) run on the CPU tensors the judge sent; only the trained `mnist_model` runs on
its own device.
"""

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.probing import predict_labels

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
_POOL_BUILTINS = [
    (F, "max_pool2d"),
    (F, "max_pool2d_with_indices"),
    (torch, "max_pool2d"),
    (torch, "max_pool2d_with_indices"),
]


def _leaf_calls(model, x):
    """(type name, output shape) of every call of a leaf module during model(x), in call order."""
    calls = []

    def record(module, inputs, output):
        calls.append(
            (
                type(module).__name__,
                tuple(output.shape) if isinstance(output, torch.Tensor) else None,
            )
        )

    handles = [
        m.register_forward_hook(record) for m in model.modules() if next(m.children(), None) is None
    ]
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
    return nn.Sequential(
        *[nn.Sequential(*[_build_layer(layer) for layer in group]) for group in groups]
    )


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
    """conv_output_size's answer for each configuration."""
    return [
        nb.conv_output_size(
            c["size"],
            c["kernel_size"],
            **{k: v for k, v in c.items() if k not in ("size", "kernel_size")},
        )
        for c in configs
    ]


def pool_output_size(nb, configs):
    """pool_output_size's answer for each configuration (defaults left out when not given)."""
    return [
        nb.pool_output_size(
            c["size"],
            c["kernel_size"],
            **{k: v for k, v in c.items() if k not in ("size", "kernel_size")},
        )
        for c in configs
    ]


# --- Exercises 2 and 3: conv2d and max_pool2d by hand ---------------------------------------


def conv2d(nb, x, weight, bias, options):
    """conv2d's output for the judge's input, weights, bias and options."""
    with _count_calls(_CONV_BUILTINS) as calls:
        out = nb.conv2d(x, weight, bias, **options)
    return {"out": out, "builtin_calls": calls[0]}


def max_pool2d(nb, x, kernel_size, options):
    """max_pool2d's output for the judge's input and options."""
    with _count_calls(_POOL_BUILTINS) as calls:
        out = nb.max_pool2d(x, kernel_size, **options)
    return {"out": out, "builtin_calls": calls[0]}


# --- Exercise 4: SimpleCNN -------------------------------------------------------------------


def simple_cnn(nb, in_channels, num_classes, x, seed):
    """A fresh SimpleCNN's output for x, its leaf-module calls with their output shapes, and its parameter count."""
    torch.manual_seed(seed)
    model = nb.SimpleCNN(in_channels=in_channels, num_classes=num_classes)
    out, calls = _leaf_calls(model, x)
    return {"out": out, "calls": calls, "n_params": sum(p.numel() for p in model.parameters())}


# --- Exercise 5: activation_shapes ------------------------------------------------------------


def activation_shapes_sequential(nb, groups, x, seed):
    """activation_shapes for a nested nn.Sequential built from the judge's layer specs."""
    torch.manual_seed(seed)
    return nb.activation_shapes(_build_sequential(groups), x)


def activation_shapes_call_order(nb, channels, height, width, num_classes, x, seed):
    """activation_shapes for a model that calls its modules out of creation order (one twice)."""
    torch.manual_seed(seed)
    return nb.activation_shapes(_CallOrderNet(channels, height, width, num_classes), x)


# --- Exercise 5b: receptive_field ------------------------------------------------------------


def receptive_field(nb, stacks):
    """receptive_field's answer for each (kernel_size, stride, dilation) stack, as lists of tuples."""
    return [
        nb.receptive_field([tuple(int(v) for v in layer) for layer in stack]) for stack in stacks
    ]


# --- Exercise 6: get_device -------------------------------------------------------------------


def _describe_device(device):
    if isinstance(device, torch.device):
        return {"is_device": True, "type": device.type}
    return {"is_device": False, "type": type(device).__name__}


def get_device(nb):
    """get_device() as it is, then with CUDA reported available and reported missing."""
    answer = {
        "actual": _describe_device(nb.get_device()),
        "cuda_available": torch.cuda.is_available(),
    }
    saved = (torch.cuda.is_available, torch.cuda.device_count)
    for available in (True, False):
        try:
            torch.cuda.is_available = lambda available=available: available
            torch.cuda.device_count = lambda available=available: int(available)
            answer["cuda" if available else "no_cuda"] = _describe_device(nb.get_device())
        finally:
            torch.cuda.is_available, torch.cuda.device_count = saved
    return answer


# --- Exercise 6b: time_op and to_device --------------------------------------------------------


def time_op_scripted(nb, durations, repeats):
    """time_op's answer for an fn whose i-th call sleeps durations[i] seconds (a warm-up call
    first), and how many times time_op called it; on the worker's own device."""
    import time

    calls = []

    def fn():
        time.sleep(durations[min(len(calls), len(durations) - 1)])
        calls.append(1)

    answer = nb.time_op(fn, nb.device, repeats=repeats)
    return {"answer": answer, "calls": len(calls)}


def time_op_cuda(nb, cycles, repeats):
    """On a CUDA worker: time_op's answer for an fn that only queues a GPU kernel spinning for
    `cycles` clock cycles, and the same kernel timed with synchronisation here; None without CUDA."""
    import time

    if not torch.cuda.is_available() or torch.device(nb.device).type != "cuda":
        return None

    def fn():
        torch.cuda._sleep(cycles)

    answer = nb.time_op(fn, nb.device, repeats=repeats)
    torch.cuda.synchronize()
    start = time.perf_counter()
    torch.cuda._sleep(cycles)
    torch.cuda.synchronize()
    return {"answer": answer, "synchronised": time.perf_counter() - start}


def _describe_batch(value):
    """A nested batch as data: tensors as (device type, shape, dtype, values when on the CPU)."""
    if isinstance(value, torch.Tensor):
        return {
            "tensor": True,
            "device": value.device.type,
            "shape": list(value.shape),
            "dtype": str(value.dtype),
            "values": value.detach().clone() if value.device.type == "cpu" else None,
        }
    if isinstance(value, dict):
        return {"dict": {str(k): _describe_batch(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {type(value).__name__: [_describe_batch(v) for v in value]}
    return {"other": repr(value)[:200], "type": type(value).__name__}


def to_device(nb, batch, device):
    """to_device's result for the judge's nested batch (tuples rebuilt from their marker),
    described as data."""

    def build(node):
        if isinstance(node, dict) and set(node) == {"__tuple__"}:
            return tuple(build(v) for v in node["__tuple__"])
        if isinstance(node, dict):
            return {k: build(v) for k, v in node.items()}
        if isinstance(node, list):
            return [build(v) for v in node]
        return node

    original = build(batch)
    return {
        "moved": _describe_batch(nb.to_device(original, device)),
        "original": _describe_batch(original),
    }


# --- The trained model -------------------------------------------------------------------------


def mnist_predictions(nb, images):
    """The digits mnist_model predicts for images in [0, 1] of shape (N, 1, 28, 28)."""
    return predict_labels(nb.mnist_model, images, default_device=nb.device)


# --- Exercise 7: BasicBlock -------------------------------------------------------------------


def basic_block(nb, configs, inputs, seed):
    """Each fresh BasicBlock's output for its input, and its parameter count."""
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
    """A fresh ResNet18's eval-mode logits for each input."""
    outs = []
    for x in inputs:
        torch.manual_seed(seed)
        model = nb.ResNet18(num_classes=num_classes, in_channels=x.shape[1]).eval()
        with torch.no_grad():
            outs.append(model(x))
    return outs


def resnet18_layout(nb, num_classes, in_channels, x):
    """A fresh ResNet18's parameter count, number of BasicBlocks, and eval-mode logits for x."""
    model = nb.ResNet18(num_classes=num_classes, in_channels=in_channels)
    with torch.no_grad():
        out = model.eval()(x)
    return {
        "n_params": sum(p.numel() for p in model.parameters()),
        "blocks": sum(isinstance(m, nb.BasicBlock) for m in model.modules()),
        "out": out,
    }


def resnet18_with_weights(nb, num_classes, in_channels, convs, projections, fc, x):
    """The student's ResNet18 with the judge's weights loaded by role, in eval mode: its logits
    for x and the output shape of every convolution in call order.

    Roles come from one forward pass: the convolutions with kernels larger than 1 in the order
    they are called, the 1x1 projections in the order they are called, each batch norm by the
    convolution whose output it normalises, and the linear layer. So the student's own names
    and attribute order do not matter; the wiring does.
    """
    model = nb.ResNet18(num_classes=num_classes, in_channels=in_channels).eval()
    calls, produced, bn_of = [], {}, {}

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            calls.append((module, tuple(output.shape)))
            produced[output.data_ptr()] = module
        elif isinstance(module, nn.modules.batchnorm._BatchNorm) and inputs:
            source = produced.get(inputs[0].data_ptr())
            if source is not None:
                bn_of[source] = module

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.modules.batchnorm._BatchNorm))
    ]
    try:
        with torch.no_grad():
            model(x[:1])
    finally:
        for handle in handles:
            handle.remove()
    wide = [(m, shape) for m, shape in calls if m.kernel_size != (1, 1)]
    narrow = [(m, shape) for m, shape in calls if m.kernel_size == (1, 1)]
    if len(wide) != len(convs) or len(narrow) != len(projections):
        return {
            "error": f"{len(wide)} convolutions larger than 1x1 and {len(narrow)} 1x1 convolutions are called"
        }
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(linears) != 1:
        return {"error": f"{len(linears)} linear layers"}
    with torch.no_grad():
        for (module, _), given in zip(wide + narrow, list(convs) + list(projections)):
            if (
                tuple(module.weight.shape) != tuple(given["weight"].shape)
                or module.bias is not None
            ):
                return {
                    "error": "a convolution has another shape than torchvision's in the same place"
                }
            module.weight.copy_(given["weight"])
            bn = bn_of.get(module)
            if bn is None:
                return {"error": "a convolution's output is not normalised by a batch norm"}
            bn.weight.copy_(given["bn"]["weight"])
            bn.bias.copy_(given["bn"]["bias"])
            bn.running_mean.copy_(given["bn"]["running_mean"])
            bn.running_var.copy_(given["bn"]["running_var"])
        linears[0].weight.copy_(fc["weight"])
        linears[0].bias.copy_(fc["bias"])
    calls.clear()
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    shapes = [list(shape) for m, shape in calls if m.kernel_size != (1, 1)]
    shapes += [list(shape) for m, shape in calls if m.kernel_size == (1, 1)]
    return {"out": out, "conv_shapes": shapes}


def resnet18_gradients(nb, x, y, seed):
    """First layer's weight-gradient norm, with and without shortcuts (eval mode, fresh model)."""
    torch.manual_seed(seed)
    model = nb.ResNet18(num_classes=10, in_channels=x.shape[1]).eval()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    blocks = [m for m in model.modules() if isinstance(m, nb.BasicBlock)]

    def first_layer_gradient():
        called = []
        handles = [
            m.register_forward_hook(lambda module, inputs, output: called.append(module))
            for m in convs
        ]
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
