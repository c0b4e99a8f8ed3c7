"""Hidden graders for Module 5 — convolutional networks and residual learning.

Every input is drawn at run time from the ``seed`` fixture. Expected values are computed
here: output sizes from the shapes nn.Conv2d / nn.MaxPool2d really produce, convolutions with
F.conv2d in float64 on the exact float32 inputs sent, parameter counts from torchvision.
"""

import math

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from dlcourse.checks import (
    close,
    expect,
    grade,
    hidden_test_accuracy,
    number,
    randint,
    rng,
    tensor,
    varies,
)

# --- Exercise 1: conv_output_size and pool_output_size -----------------------------------------


def _with_defaults(g, config, values, defaults):
    """Add each argument to config, leaving it out half of the times it equals its default."""
    for name, value in values.items():
        if value != defaults[name] or randint(g, 0, 1):
            config[name] = value
    return config


def _conv_configs(g, count):
    configs = []
    while len(configs) < count:
        size, k = randint(g, 1, 64), randint(g, 1, 7)
        values = {
            "stride": randint(g, 1, 4),
            "padding": randint(g, 0, 3),
            "dilation": randint(g, 1, 3),
        }
        layer = nn.Conv2d(1, 1, k, **values)
        try:
            with torch.no_grad():
                produced = layer(torch.zeros(1, 1, size, size)).shape[-1]
        except (RuntimeError, ValueError):  # the filter does not fit: nn.Conv2d refuses this input
            continue
        config = _with_defaults(
            g, {"size": size, "kernel_size": k}, values, {"stride": 1, "padding": 0, "dilation": 1}
        )
        configs.append((config, produced))
    return configs


def _pool_configs(g, count, edge_cases):
    """Valid nn.MaxPool2d configurations, at least `edge_cases` of them where ceil_mode drops a
    last window that would start in the right padding (a rule a plain ceiling misses)."""
    configs, edges = [], 0
    while len(configs) < count or edges < edge_cases:
        size, k = randint(g, 1, 48), randint(g, 1, 6)
        stride = None if randint(g, 0, 3) == 0 else randint(g, 1, 4)
        values = {
            "stride": stride,
            "padding": randint(g, 0, k // 2),
            "dilation": randint(g, 1, 3),
            "ceil_mode": bool(randint(g, 0, 1)),
        }
        try:
            produced = nn.MaxPool2d(k, **values)(torch.zeros(1, 1, size, size)).shape[-1]
        except (RuntimeError, ValueError):  # output would be empty: nn.MaxPool2d refuses this input
            continue
        s = k if stride is None else stride
        span = size + 2 * values["padding"] - values["dilation"] * (k - 1) - 1
        is_edge = values["ceil_mode"] and produced != -(-span // s) + 1
        if len(configs) >= count and not is_edge:
            continue
        edges += is_edge
        config = _with_defaults(
            g,
            {"size": size, "kernel_size": k},
            values,
            {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False},
        )
        configs.append((config, produced))
    return configs


def _check_sizes(got, configs, name, layer):
    expect(
        isinstance(got, list) and len(got) == len(configs),
        f"{name} should return one size per call",
    )
    for value, (config, produced) in zip(got, configs):
        size = number(value, f"{name}'s result")
        arguments = ", ".join(f"{k}={v}" for k, v in config.items())
        expect(
            size == produced, f"{name}({arguments}) differs from the output size {layer} produces"
        )


@grade(
    cell="test_output_sizes",
    points=1,
    hint="floor((size + 2·padding - dilation·(kernel - 1) - 1) / stride) + 1",
)
def test_conv_output_size(nb, seed):
    """conv_output_size matches the output size nn.Conv2d really produces."""
    configs = _conv_configs(rng(seed), 300)
    got = nb.call("conv_output_size", configs=[c for c, _ in configs])
    _check_sizes(got, configs, "conv_output_size", "nn.Conv2d")


@grade(
    cell="test_output_sizes",
    points=1,
    hint="stride defaults to kernel_size; with ceil_mode the last window must start inside the padded input",
)
def test_pool_output_size(nb, seed):
    """pool_output_size matches nn.MaxPool2d, default stride and ceil_mode included."""
    configs = _pool_configs(rng(seed), 300, edge_cases=10)
    got = nb.call("pool_output_size", configs=[c for c, _ in configs])
    _check_sizes(got, configs, "pool_output_size", "nn.MaxPool2d")


# --- Exercise 2: conv2d -----------------------------------------------------------------------


def _check_conv2d(nb, g, stride, padding, cases=3):
    for _ in range(cases):
        n, c_in, c_out = randint(g, 1, 3), randint(g, 1, 4), randint(g, 1, 5)
        kh, kw = randint(g, 1, 5), randint(g, 1, 5)
        h, w = randint(g, max(1, kh - 2 * padding), 13), randint(g, max(1, kw - 2 * padding), 13)
        x = torch.randn(n, c_in, h, w, generator=g)
        weight = torch.randn(c_out, c_in, kh, kw, generator=g)
        bias = torch.randn(c_out, generator=g)
        options = {}
        if stride != 1:
            options["stride"] = stride
        if padding != 0:
            options["padding"] = padding
        got = nb.call("conv2d", x=x, weight=weight, bias=bias, options=options)
        expected = F.conv2d(
            x.double(), weight.double(), bias.double(), stride=stride, padding=padding
        )
        what = f"input {tuple(x.shape)}, weight {tuple(weight.shape)}" + "".join(
            f", {k}={v}" for k, v in options.items()
        )
        out = tensor(got["out"], f"conv2d's output ({what})", shape=expected.shape)
        # Sums of at most 4 * 5 * 5 = 100 products of N(0, 1) numbers: float32 rounding stays
        # far below 1e-4 on any device.
        expect(close(out, expected, atol=1e-4, rtol=1e-4), f"conv2d differs from F.conv2d ({what})")
        expect(
            got["builtin_calls"] == 0,
            "conv2d should compute the convolution by hand, not with F.conv2d, torch.conv2d or nn.Conv2d",
        )


@grade(
    cell="test_conv2d",
    points=2,
    hint="sum over input channels and the kernel window, then add the bias of each output channel",
)
def test_conv2d_matches_f_conv2d(nb, seed):
    """conv2d equals F.conv2d on random inputs, weights and biases."""
    _check_conv2d(nb, rng(seed), stride=1, padding=0)


@grade(
    cell="test_conv2d",
    points=1,
    hint="pad with zeros on all four sides (F.pad) before sliding the kernel",
)
def test_conv2d_padding(nb, seed):
    """conv2d with padding equals F.conv2d with the same padding."""
    g = rng(seed)
    _check_conv2d(nb, g, stride=1, padding=randint(g, 1, 3))


@grade(
    cell="test_conv2d",
    points=1,
    hint="move the window by `stride` pixels; the output size follows conv_output_size",
)
def test_conv2d_stride(nb, seed):
    """conv2d with a stride equals F.conv2d with the same stride."""
    g = rng(seed)
    _check_conv2d(nb, g, stride=randint(g, 2, 3), padding=0)


# --- Exercise 3: max_pool2d -------------------------------------------------------------------


def _check_max_pool(nb, g, kernel_size, stride, pass_stride, negative=False):
    x = torch.randn(
        randint(g, 1, 3),
        randint(g, 1, 4),
        randint(g, kernel_size, 13),
        randint(g, kernel_size, 13),
        generator=g,
    )
    if negative:  # every value below zero: the maxima are negative too
        x = -x.abs() - 0.1
    options = {"stride": stride} if pass_stride else {}
    got = nb.call("max_pool2d", x=x, kernel_size=kernel_size, options=options)
    expected = F.max_pool2d(x.double(), kernel_size, stride)
    what = f"{'negative ' if negative else ''}input {tuple(x.shape)}, kernel_size={kernel_size}" + (
        f", stride={stride}" if pass_stride else ""
    )
    out = tensor(got["out"], f"max_pool2d's output ({what})", shape=expected.shape)
    expect(close(out, expected, atol=0.0), f"max_pool2d differs from F.max_pool2d ({what})")
    expect(
        got["builtin_calls"] == 0,
        "max_pool2d should take the maxima by hand, not with F.max_pool2d or nn.MaxPool2d",
    )


@grade(
    cell="test_max_pool2d",
    points=1,
    hint="the default stride is the kernel size; negative inputs need the true maximum, not 0",
)
def test_max_pool2d_non_overlapping(nb, seed):
    """max_pool2d equals F.max_pool2d with non-overlapping windows."""
    g = rng(seed)
    for pass_stride, negative in ((False, False), (True, False), (bool(randint(g, 0, 1)), True)):
        k = randint(g, 2, 4)
        _check_max_pool(nb, g, k, k, pass_stride, negative)


@grade(
    cell="test_max_pool2d",
    points=1,
    hint="use the stride you are given, also when it differs from the kernel size",
)
def test_max_pool2d_stride(nb, seed):
    """max_pool2d equals F.max_pool2d with an explicit stride."""
    g = rng(seed)
    for negative in (False, False, True):
        k = randint(g, 2, 4)
        stride = randint(g, 1, 4)
        stride = stride if stride != k else k + 1
        _check_max_pool(nb, g, k, stride, True, negative)


# --- Exercise 4: SimpleCNN --------------------------------------------------------------------


def _simple_cnn(nb, g, seed):
    in_channels, num_classes, n = randint(g, 1, 3), randint(g, 2, 12), randint(g, 2, 4)
    got = nb.call(
        "simple_cnn",
        in_channels=in_channels,
        num_classes=num_classes,
        x=torch.randn(n, in_channels, 28, 28, generator=g),
        seed=seed,
    )
    return in_channels, num_classes, n, got


@grade(
    cell="test_simple_cnn",
    points=1,
    hint="check the channels and the flattened size before the linear layer",
)
def test_simple_cnn_output(nb, seed):
    """SimpleCNN maps images to (N, num_classes) scores that depend on the image."""
    in_channels, num_classes, n, got = _simple_cnn(nb, rng(seed), seed)
    tensor(
        got["out"],
        f"SimpleCNN(in_channels={in_channels}, num_classes={num_classes})'s output "
        f"for {n} images of 28x28",
        shape=(n, num_classes),
    )
    varies(got["out"], "SimpleCNN's output")


@grade(
    cell="test_simple_cnn",
    points=1,
    hint="follow the exercise's layer list: two convolutions with pooling, then one linear layer",
)
def test_simple_cnn_layers(nb, seed):
    """SimpleCNN has the layers the exercise lists, with the right shapes."""
    c, k, n, got = _simple_cnn(nb, rng(seed), seed)
    varies(got["out"], "SimpleCNN's output")
    layers = [
        (name, tuple(shape) if shape is not None else None)
        for name, shape in got["calls"]
        if name in ("Conv2d", "ReLU", "MaxPool2d", "Linear")
    ]
    expected = [
        ("Conv2d", (n, 8, 28, 28)),
        ("ReLU", (n, 8, 28, 28)),
        ("MaxPool2d", (n, 8, 14, 14)),
        ("Conv2d", (n, 16, 14, 14)),
        ("ReLU", (n, 16, 14, 14)),
        ("MaxPool2d", (n, 16, 7, 7)),
        ("Linear", (n, k)),
    ]
    expect(
        [name for name, _ in layers] == [name for name, _ in expected],
        "SimpleCNN should call nn.Conv2d, nn.ReLU, nn.MaxPool2d twice and then nn.Linear, "
        "as modules and in this order",
    )
    for (name, shape), (_, wanted) in zip(layers, expected):
        expect(
            shape == wanted,
            f"SimpleCNN(in_channels={c}, num_classes={k}): a {name} layer's output "
            "does not have the shape the table in the notebook gives",
        )
    n_params = (c * 8 * 9 + 8) + (8 * 16 * 9 + 16) + (16 * 7 * 7 * k + k)
    expect(
        got["n_params"] == n_params,
        f"SimpleCNN(in_channels={c}, num_classes={k}) has {got['n_params']} "
        "parameters, not the number the layers in the notebook's table give",
    )


# --- Exercise 5: activation_shapes ------------------------------------------------------------


def _random_layers(g):
    """A random conv net as nested lists of layer specs, and the input (C, H, W) it accepts."""
    c, h, w = randint(g, 1, 3), randint(g, 12, 24), randint(g, 12, 24)
    input_shape = (c, h, w)
    groups = []
    for _ in range(randint(g, 1, 3)):
        if min(h, w) < 4:
            break
        k, s, p, c_out = randint(g, 1, 3), randint(g, 1, 2), randint(g, 0, 1), randint(g, 2, 6)
        group = [["conv", c, c_out, k, s, p]]
        c, h, w = c_out, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        if randint(g, 0, 1):
            group.append(["bn", c])
        group.append(["relu"])
        if min(h, w) >= 2 and randint(g, 0, 1):
            group.append(["pool", 2])
            h, w = h // 2, w // 2
        groups.append(group)
    groups.append([["flatten"], ["linear", c * h * w, randint(g, 2, 10)]])
    return groups, input_shape


def _build_layer(spec):
    kind = spec[0]
    if kind == "conv":
        return nn.Conv2d(spec[1], spec[2], spec[3], stride=spec[4], padding=spec[5])
    return {
        "bn": lambda: nn.BatchNorm2d(spec[1]),
        "relu": nn.ReLU,
        "pool": lambda: nn.MaxPool2d(spec[1]),
        "flatten": nn.Flatten,
        "linear": lambda: nn.Linear(spec[1], spec[2]),
    }[kind]()


def _reference_shapes(model, x):
    shapes = []
    handles = [
        m.register_forward_hook(lambda module, inputs, output: shapes.append(tuple(output.shape)))
        for m in model.modules()
        if next(m.children(), None) is None
    ]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return shapes


def _as_shapes(value, name):
    expect(isinstance(value, (list, tuple)), f"{name} should be a list of shapes")
    shapes = []
    for shape in value:
        expect(
            isinstance(shape, (list, tuple)) and all(type(d) is int for d in shape),
            f"each entry of {name} should be a shape: a tuple of ints",
        )
        shapes.append(tuple(shape))
    return shapes


@grade(
    cell="test_activation_shapes",
    points=1,
    hint="hook every module without children (model.modules()), not only the top-level children",
)
def test_activation_shapes_nested_sequential(nb, seed):
    """activation_shapes lists every leaf module's output shape, also inside nested containers."""
    g = rng(seed)
    groups, input_shape = _random_layers(g)
    x = torch.randn(randint(g, 2, 4), *input_shape, generator=g)
    got = _as_shapes(
        nb.call("activation_shapes_sequential", groups=groups, x=x, seed=seed),
        "activation_shapes' result",
    )
    model = nn.Sequential(
        *[nn.Sequential(*[_build_layer(layer) for layer in group]) for group in groups]
    )
    expect(
        got == _reference_shapes(model, x),
        "activation_shapes should list the output shape of every leaf module (layers inside nested "
        "nn.Sequential containers included, the containers themselves not), in call order",
    )


@grade(
    cell="test_activation_shapes",
    points=1,
    hint="append in the hook (called in forward order); remove the hooks in a finally block",
)
def test_activation_shapes_call_order(nb, seed):
    """activation_shapes follows the call order, once per call, and removes its hooks."""
    g = rng(seed)
    channels, num_classes, n = randint(g, 1, 3), randint(g, 2, 10), randint(g, 1, 4)
    height, width = 4 * randint(g, 2, 6), 4 * randint(g, 2, 6)
    x = torch.randn(n, channels, height, width, generator=g)
    got = _as_shapes(
        nb.call(
            "activation_shapes_call_order",
            channels=channels,
            height=height,
            width=width,
            num_classes=num_classes,
            x=x,
            seed=seed,
        ),
        "activation_shapes' result",
    )
    h, w = height, width
    expected = [
        (n, 8, h, w),
        (n, 8, h, w),
        (n, 8, h // 2, w // 2),
        (n, 12, h // 2, w // 2),
        (n, 12, h // 2, w // 2),
        (n, 12, h // 4, w // 4),
        (n, 12 * (h // 4) * (w // 4)),
        (n, num_classes),
    ]
    expect(
        got == expected,
        "activation_shapes should list the leaf modules' outputs in the order the modules "
        "are called (not the order they were created in), once per call",
    )


# --- Exercise 5b: receptive_field -----------------------------------------------------------


def _reference_receptive_field(stack):
    field, jump = 1, 1
    for kernel_size, stride, dilation in stack:
        field += (kernel_size - 1) * dilation * jump
        jump *= stride
    return field


def _measured_receptive_field(stack):
    """The same number measured: backpropagate from one output unit of all-ones convolutions."""
    size = _reference_receptive_field(stack) + 2 * math.prod(s for _, s, _ in stack) + 2
    convs = [
        nn.Conv2d(1, 1, (k, 1), stride=(s, 1), dilation=(d, 1), bias=False) for k, s, d in stack
    ]
    for conv in convs:
        nn.init.ones_(conv.weight)
    x = torch.zeros(1, 1, size, 1, dtype=torch.float64, requires_grad=True)
    out = nn.Sequential(*convs).double()(x)
    out[0, 0, out.shape[2] // 2, 0].backward()
    touched = (x.grad[0, 0, :, 0] != 0).nonzero()
    return int(touched.max() - touched.min() + 1)


def _random_stacks(g, count):
    stacks = [[]]
    for _ in range(count):
        stacks.append(
            [
                (randint(g, 1, 7), randint(g, 1, 3), randint(g, 1, 3))
                for _ in range(randint(g, 1, 6))
            ]
        )
    return stacks


@grade(
    cell="test_receptive_field",
    points=2,
    hint="grow the field by (kernel - 1) · dilation · jump per layer, then multiply the jump by the stride",
)
def test_receptive_field_matches_backpropagation(nb, seed):
    """receptive_field equals the receptive field measured by backpropagating from one output unit."""
    g = rng(seed)
    stacks = _random_stacks(g, 8)
    got = nb.call("receptive_field", stacks=stacks)
    expect(
        isinstance(got, list) and len(got) == len(stacks),
        "receptive_field's results could not be read",
    )
    for answer, stack in zip(got, stacks):
        expected = _reference_receptive_field(stack)
        assert expected == _measured_receptive_field(stack)  # the formula is the measurement
        expect(
            type(answer) is int,
            f"receptive_field should return an int, got {type(answer).__name__}",
        )
        expect(
            answer == expected,
            f"receptive_field is wrong for the stack {stack} (kernel, stride, dilation)",
        )


# --- Exercise 6: get_device -------------------------------------------------------------------


@grade(
    cell="test_get_device",
    points=1,
    hint='torch.device("cuda" if torch.cuda.is_available() else "cpu")',
)
def test_get_device_picks_cuda_when_available(nb, seed):
    """get_device returns the CUDA device exactly when torch.cuda.is_available()."""
    got = nb.call("get_device")
    for key in ("actual", "cuda", "no_cuda"):
        expect(
            got[key]["is_device"],
            f"get_device should return a torch.device, got a {got[key]['type']}",
        )
    expect(
        got["cuda"]["type"] == "cuda",
        "get_device should return the CUDA device when torch.cuda.is_available()",
    )
    expect(
        got["no_cuda"]["type"] == "cpu",
        "get_device should return the CPU when CUDA is not available",
    )
    expect(
        got["actual"]["type"] == ("cuda" if got["cuda_available"] else "cpu"),
        "get_device should return the CUDA device when one is available, else the CPU",
    )


# --- Exercise 6b: time_op and to_device -------------------------------------------------------


@grade(
    cell="test_cuda_tools",
    points=1,
    hint="call fn once before timing, then time each of the repeats calls and return their median",
)
def test_time_op_median_without_warm_up(nb, seed):
    """time_op calls fn once untimed, then `repeats` times, and returns the median in seconds."""
    g = rng(seed)
    repeats = randint(g, 3, 7) | 1  # odd: the median is one of the timed calls
    base = 0.02 + 0.01 * randint(g, 0, 3)
    # Timed calls: (repeats + 1) / 2 of `base` and (repeats - 1) / 2 slow ones of 0.5 s, in a
    # random order, so the median is `base` while the mean is above base + 0.16; the warm-up
    # call (0.6 s) must not count: timed too, it would make the median (base + 0.5) / 2.
    slow = torch.randperm(repeats, generator=g)[: (repeats - 1) // 2].tolist()
    timed = [0.5 if i in slow else base for i in range(repeats)]
    got = nb.call("time_op_scripted", durations=[0.6] + timed, repeats=repeats)
    expect(
        got["calls"] == repeats + 1,
        f"time_op should call fn repeats + 1 times (one warm-up), "
        f"it called it {got['calls']} times for repeats={repeats}",
    )
    answer = number(got["answer"], "time_op's result")
    # time.sleep never returns early; on a loaded machine it may return late, by far less than
    # the 0.08 s allowed here, which is well below the 0.16 s that separate the median from the
    # mean, or from a median that includes the warm-up call.
    expect(
        answer >= base - 1e-3,
        "time_op's result is shorter than the calls it timed (it should be in seconds)",
    )
    expect(
        answer <= base + 0.08,
        "time_op should return the median of the timed calls, without the warm-up call",
    )


@grade(
    cell="test_cuda_tools",
    points=1,
    hint="torch.cuda.synchronize(device) before starting and before stopping the clock",
)
def test_time_op_synchronises_cuda(nb, seed):
    """On a GPU, time_op waits for queued CUDA work: it times a queued kernel at its real length."""
    g = rng(seed)
    got = nb.call("time_op_cuda", cycles=randint(g, 20, 40) * 1_000_000, repeats=3)
    if got is None:  # a CPU worker: nothing to synchronise; time_op must still time what it calls
        base = 0.02 + 0.01 * randint(g, 0, 3)
        got = nb.call("time_op_scripted", durations=[0.3, base, base, base], repeats=3)
        answer = number(got["answer"], "time_op's result")
        expect(
            base - 1e-3 <= answer <= base + 0.08,
            "time_op should return the median time of the timed calls, in seconds",
        )
        return
    answer = number(got["answer"], "time_op's result")
    real = number(got["synchronised"], "the kernel's synchronised time")
    # Without synchronisation only the kernel launch (microseconds) is timed: far below half.
    expect(
        answer >= 0.5 * real,
        "time_op measured only the launch of the CUDA work: call "
        "torch.cuda.synchronize() before reading the clock",
    )


def _nested_batch(g):
    """A nested batch of tensors and plain values; tuples are marked for the probe to rebuild."""

    def t():
        return torch.randn(*[randint(g, 1, 4) for _ in range(randint(g, 1, 3))], generator=g)

    return {
        "images": t(),
        "pair": {"__tuple__": [t(), "label", randint(g, 0, 99)]},
        "more": [t(), {"deep": [t(), None, 2.5]}],
        "name": "batch",
    }


def _check_moved(moved, original, device, path="batch"):
    if "tensor" in original:
        expect("tensor" in moved, f"to_device should keep {path} a tensor")
        expect(moved["device"] == device, f"to_device should move {path} to {device}")
        expect(
            moved["shape"] == original["shape"] and moved["dtype"] == original["dtype"],
            f"to_device should keep the shape and dtype of {path}",
        )
        if moved["values"] is not None:
            expect(
                torch.equal(moved["values"], original["values"]),
                f"to_device changed the values of {path}",
            )
        return
    kind = next(iter(original))
    expect(
        kind in moved and kind != "other" or moved == original,
        f"to_device should keep {path} a {original.get('type', kind)} with the same value",
    )
    if kind == "dict":
        expect(
            set(moved["dict"]) == set(original["dict"]), f"to_device should keep the keys of {path}"
        )
        for key in original["dict"]:
            _check_moved(moved["dict"][key], original["dict"][key], device, f"{path}[{key!r}]")
    elif kind in ("list", "tuple"):
        expect(
            len(moved[kind]) == len(original[kind]), f"to_device should keep the length of {path}"
        )
        for i, (m, o) in enumerate(zip(moved[kind], original[kind])):
            _check_moved(m, o, device, f"{path}[{i}]")


@grade(
    cell="test_cuda_tools",
    points=1,
    hint="recurse into dicts, lists and tuples (rebuild a tuple as a tuple); move tensors; "
    "return other values as they are",
)
def test_to_device_moves_nested_batches(nb, seed):
    """to_device moves every tensor of a nested batch and keeps its structure and other values."""
    g = rng(seed)
    for device in (
        "meta",
        "cpu",
    ):  # "meta" exists on every machine: a move that is visible without a GPU
        got = nb.call("to_device", batch=_nested_batch(g), device=device)
        _check_moved(got["moved"], got["original"], device)


# --- The trained model ------------------------------------------------------------------------


@grade(
    cell="test_mnist_model",
    points=2,
    hint="run the training cell; check that SimpleCNN trains (loss going down)",
)
def test_mnist_model_accuracy(nb, seed):
    """mnist_model classifies at least 85 % of hidden test digits correctly."""
    acc = hidden_test_accuracy(nb, "mnist_predictions", "mnist_model's predicted digits")
    # The whole, fixed test split: no sampling here. What varies is training (seed, device,
    # the student's layer order): the notebook's recipe gave 93.2-95.5% test accuracy over 8
    # training seeds (mean 94.6%, sd 0.75%), so 85% sits more than 12 sd below the mean and
    # fails only a model that did not learn.
    expect(
        acc >= 0.85,
        f"mnist_model classifies {acc:.1%} of the test digits correctly; at least 85% expected",
    )


# --- Exercise 7: BasicBlock -------------------------------------------------------------------


def _block_configs(g):
    """One block of each kind: identity, projection for channels, for stride, for both."""
    c, c2 = randint(g, 1, 12), randint(g, 1, 12)
    c2 = c2 if c2 != c else c + 1
    return [(c, c, 1), (c, c2, 1), (c, c, 2), (c, c2, 2)]


def _block_parameters(c_in, c_out, stride):
    count = 9 * c_in * c_out + 9 * c_out * c_out + 2 * 2 * c_out  # two 3x3 convs and two BNs
    if stride != 1 or c_in != c_out:
        count += c_in * c_out + 2 * c_out  # the 1x1 projection and its BN
    return count


def _block_inputs(g, configs):
    n, h, w = randint(g, 2, 4), randint(g, 5, 12), randint(g, 5, 12)
    return [torch.randn(n, c_in, h, w, generator=g) for c_in, _, _ in configs]


@grade(
    cell="test_basic_block",
    points=1,
    hint="the first convolution carries the stride; both use padding=1",
)
def test_basic_block_shapes(nb, seed):
    """BasicBlock's output has the shape of its stride and channels."""
    g = rng(seed)
    configs = _block_configs(g)
    inputs = _block_inputs(g, configs)
    got = nb.call("basic_block", configs=configs, inputs=inputs, seed=seed)
    for (c_in, c_out, stride), x, result in zip(configs, inputs, got):
        n, _, h, w = x.shape
        tensor(
            result["out"],
            f"BasicBlock({c_in}, {c_out}, stride={stride})'s output for an input of shape "
            f"{tuple(x.shape)}",
            shape=(n, c_out, (h - 1) // stride + 1, (w - 1) // stride + 1),
        )
        varies(result["out"], f"BasicBlock({c_in}, {c_out}, stride={stride})'s output")


@grade(
    cell="test_basic_block",
    points=1,
    hint="no bias in the convolutions; a projection only when the shape changes",
)
def test_basic_block_parameters(nb, seed):
    """BasicBlock has the convolutions and batch norms of the exercise, with the right shapes."""
    g = rng(seed)
    configs = _block_configs(g)
    got = nb.call("basic_block", configs=configs, inputs=_block_inputs(g, configs), seed=seed)
    for (c_in, c_out, stride), result in zip(configs, got):
        varies(result["out"], f"BasicBlock({c_in}, {c_out}, stride={stride})'s output")
        wanted = _block_parameters(c_in, c_out, stride)
        kind = "an identity" if (c_in == c_out and stride == 1) else "a projection"
        expect(
            result["n_params"] == wanted,
            f"BasicBlock({c_in}, {c_out}, stride={stride}) has {result['n_params']} parameters, not the number "
            f"of two 3x3 convs without bias, two BNs and {kind} shortcut",
        )


@grade(
    cell="test_basic_block",
    points=1,
    hint="add x itself when the shape does not change, then the final ReLU",
)
def test_identity_shortcut(nb, seed):
    """With zeroed residual branch, BasicBlock returns ReLU(x): the identity shortcut."""
    g = rng(seed)
    c = randint(g, 1, 12)
    x = torch.randn(randint(g, 2, 4), c, randint(g, 4, 10), randint(g, 4, 10), generator=g)
    got = nb.call(
        "basic_block_zeroed", in_channels=c, out_channels=c, stride=1, x=x, seed=seed, zero_all=True
    )
    out = tensor(got["out"], f"BasicBlock({c}, {c})'s output", shape=x.shape)
    # All convolutions zero: the residual branch gives BN(0) = 0, so the block computes ReLU(0 + x).
    expect(
        close(out, x.double().relu(), atol=1e-5),
        f"BasicBlock({c}, {c}) should add its input unchanged (identity shortcut) and apply the ReLU "
        "after the addition",
    )


@grade(
    cell="test_basic_block",
    points=1,
    hint="nn.Conv2d(in, out, 1, stride=stride, bias=False) followed by nn.BatchNorm2d(out)",
)
def test_projection_shortcut(nb, seed):
    """When the shape changes, the shortcut is a 1×1 convolution with the stride, then batch norm."""
    g = rng(seed)
    c_in, c_out, stride = _block_configs(g)[randint(g, 1, 3)]
    x = torch.randn(randint(g, 2, 4), c_in, randint(g, 6, 10), randint(g, 6, 10), generator=g)
    got = nb.call(
        "basic_block_zeroed",
        in_channels=c_in,
        out_channels=c_out,
        stride=stride,
        x=x,
        seed=seed,
        zero_all=False,
    )
    name = f"BasicBlock({c_in}, {c_out}, stride={stride})"
    kept = got["kept_convs"]
    expect(
        isinstance(kept, list) and len(kept) == 1,
        f"{name}'s shortcut should be one 1x1 convolution",
    )
    weight = tensor(
        kept[0]["weight"], "the 1x1 convolution's weight", shape=(c_out, c_in, 1, 1)
    ).double()
    bias = kept[0]["bias"]
    bias = (
        None
        if bias is None
        else tensor(bias, "the 1x1 convolution's bias", shape=(c_out,)).double()
    )
    # 3x3 convolutions zero: the block computes ReLU(BN(conv1x1(x))), BN in training mode
    # (normalised with the batch's mean and biased variance, eps = 1e-5, scale 1, shift 0).
    z = F.conv2d(x.double(), weight, bias, stride=stride)
    mean = z.mean(dim=(0, 2, 3), keepdim=True)
    var = z.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    expected = ((z - mean) / torch.sqrt(var + 1e-5)).relu()
    out = tensor(got["out"], f"{name}'s output", shape=expected.shape)
    expect(
        close(out, expected, atol=1e-4, rtol=1e-4),
        f"{name}'s shortcut should be a 1x1 convolution with stride {stride} followed by batch norm, "
        "added before the final ReLU",
    )


# --- Exercise 8: ResNet18 ---------------------------------------------------------------------


def _torchvision_parameters(num_classes, in_channels):
    model = torchvision.models.resnet18(weights=None, num_classes=num_classes)
    model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return sum(p.numel() for p in model.parameters())


@grade(
    cell="test_resnet18",
    points=1,
    hint="end with adaptive average pooling to 1×1, flatten, then the linear layer",
)
def test_resnet18_output_shapes(nb, seed):
    """ResNet18 maps images of several sizes to (N, num_classes) logits."""
    g = rng(seed)
    num_classes = randint(g, 2, 20)
    inputs = [
        torch.randn(randint(g, 2, 3), 3, 32, 32, generator=g),
        torch.randn(randint(g, 2, 3), 1, 28, 28, generator=g),
    ]
    got = nb.call("resnet18_outputs", num_classes=num_classes, inputs=inputs, seed=seed)
    expect(isinstance(got, list) and len(got) == 2, "ResNet18 did not produce outputs")
    for x, out in zip(inputs, got):
        tensor(
            out,
            f"ResNet18(num_classes={num_classes}, in_channels={x.shape[1]})'s output for an input of "
            f"shape {tuple(x.shape)}",
            shape=(x.shape[0], num_classes),
        )
        varies(out, "ResNet18's output")


def _check_layout(nb, g, in_channels):
    num_classes = randint(g, 2, 20)
    got = nb.call(
        "resnet18_layout",
        num_classes=num_classes,
        in_channels=in_channels,
        x=torch.randn(2, in_channels, 32, 32, generator=g),
    )
    varies(got["out"], "ResNet18's output")
    wanted = _torchvision_parameters(num_classes, in_channels)
    expect(
        got["blocks"] == 8, f"ResNet18 should be built from 8 BasicBlocks, it has {got['blocks']}"
    )
    expect(
        got["n_params"] == wanted,
        f"ResNet18(num_classes={num_classes}, in_channels={in_channels}) has {got['n_params']:,} parameters, "
        "not as many as torchvision's resnet18 with the same classes and input channels",
    )


@grade(
    cell="test_resnet18",
    points=1,
    hint="compare with torchvision.models.resnet18(num_classes=...) layer by layer",
)
def test_resnet18_parameters_rgb(nb, seed):
    """ResNet18 (3 input channels) has 8 BasicBlocks and as many parameters as torchvision's resnet18."""
    _check_layout(nb, rng(seed), in_channels=3)


@grade(cell="test_resnet18", points=1, hint="in_channels changes only the first convolution")
def test_resnet18_parameters_grey(nb, seed):
    """ResNet18 with 1 input channel has 8 BasicBlocks and as many parameters as torchvision's."""
    _check_layout(nb, rng(seed), in_channels=1)


def _torchvision_reference(g, num_classes, in_channels):
    """A torchvision resnet18 with random weights and batch-norm statistics, and its weights by
    role (as the probe loads them): wide convolutions and 1x1 projections in call order."""
    torch.manual_seed(randint(g, 0, 10**6))
    model = torchvision.models.resnet18(weights=None, num_classes=num_classes)
    model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    model.eval()

    def with_bn(conv, bn):
        return {
            "weight": conv.weight.detach().clone(),
            "bn": {
                k: getattr(bn, k).detach().clone()
                for k in ("weight", "bias", "running_mean", "running_var")
            },
        }

    convs, projections = [with_bn(model.conv1, model.bn1)], []
    for stage in (model.layer1, model.layer2, model.layer3, model.layer4):
        for block in stage:
            convs += [with_bn(block.conv1, block.bn1), with_bn(block.conv2, block.bn2)]
            if block.downsample is not None:
                projections.append(with_bn(block.downsample[0], block.downsample[1]))
    fc = {"weight": model.fc.weight.detach().clone(), "bias": model.fc.bias.detach().clone()}
    return model, convs, projections, fc


def _torchvision_conv_shapes(model, x):
    calls = []
    handles = [
        m.register_forward_hook(lambda module, i, out: calls.append((module, list(out.shape))))
        for m in model.modules()
        if isinstance(m, nn.Conv2d)
    ]
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    shapes = [s for m, s in calls if m.kernel_size != (1, 1)] + [
        s for m, s in calls if m.kernel_size == (1, 1)
    ]
    return out, shapes


@grade(
    cell="test_resnet18",
    points=1,
    hint="the stem is conv 7×7 stride 2 → BN → ReLU → max-pool 3×3 stride 2; stages 2-4 downsample in their "
    "first block's first convolution",
)
def test_resnet18_computes_torchvision_function(nb, seed):
    """With torchvision resnet18's weights loaded, ResNet18 gives its outputs and intermediate shapes."""
    g = rng(seed)
    num_classes, in_channels = randint(g, 2, 20), (1, 3)[randint(g, 0, 1)]
    model, convs, projections, fc = _torchvision_reference(g, num_classes, in_channels)
    size = (32, 40, 64)[randint(g, 0, 2)]
    x = torch.randn(2, in_channels, size, size, generator=g)
    got = nb.call(
        "resnet18_with_weights",
        num_classes=num_classes,
        in_channels=in_channels,
        convs=convs,
        projections=projections,
        fc=fc,
        x=x,
    )
    expect(
        "error" not in got,
        f"torchvision's weights do not fit your ResNet18 by role: {got.get('error')}",
    )
    expected, shapes = _torchvision_conv_shapes(model, x)
    expect(
        got["conv_shapes"] == shapes,
        "with torchvision's weights, your ResNet18's convolutions produce other shapes than torchvision's "
        f"for {size}×{size} inputs (check the strides, the stem's max-pool, and which stages downsample)",
    )
    out = tensor(got["out"], "ResNet18's output", shape=expected.shape)
    expect(
        close(out, expected, atol=1e-3, rtol=1e-3),
        "with torchvision's weights, your ResNet18 computes something else than torchvision's resnet18 "
        "(check where each stride, ReLU and shortcut sits)",
    )


# --- Section 8: vanishing gradients -----------------------------------------------------------


@grade(
    cell="test_vanishing_gradients",
    points=2,
    hint="use_shortcut=False must skip the shortcut in every block",
)
def test_shortcuts_keep_first_layer_gradient(nb, seed):
    """With shortcuts on, the first layer's gradient is much larger than with them off (eval mode)."""
    g = rng(seed)
    x = torch.randn(
        2, 3, 32, 32, generator=g
    )  # the default in_channels: graded with the parameter counts
    y = torch.randint(0, 10, (2,), generator=g)
    got = nb.call("resnet18_gradients", x=x, y=y, seed=seed)
    expect(got["blocks"] > 0, "ResNet18 should be built from BasicBlock modules")
    residual = number(got["residual"], "the first layer's gradient norm with shortcuts")
    plain = number(got["plain"], "the first layer's gradient norm without shortcuts")
    # Fresh ResNet-18, batch norm in eval mode (the identity at initialisation), 2 random images.
    # Over 2,000 seeds of this exact measurement (reference solution, PyTorch's default init)
    # log10(residual / plain) had mean 7.46, sd 0.08, minimum 7.21; over 500 seeds of a
    # solution with torchvision's He init (kaiming_normal_, fan_out) mean 2.99, sd 0.07,
    # minimum 2.80. A factor of 2 (log10 = 0.30) lies more than 35 sd below either, so a
    # correct solution fails far less than once in a million runs, while a block that ignores
    # use_shortcut gives a ratio of exactly 1. (In training mode batch norm keeps the plain
    # stack's gradient as large as the residual one's: hence eval mode, see the notebook.)
    expect(
        residual > 0 and residual > 2 * plain,
        "with use_shortcut = False in every BasicBlock, the first layer's gradient should be far smaller "
        "than with the shortcuts (fresh ResNet18, batch norm in eval mode): check that forward honours "
        "use_shortcut",
    )
