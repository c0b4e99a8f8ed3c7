"""Hidden graders for Module 3 — shallow neural networks.

Every input is drawn at run time from a seed; expected values are computed here, in float64,
from the inputs and from the weights the judge itself sends to the student's model. Trained
models are judged by properties (accuracy, loss comparisons) with bounds sized in the comments.
"""

import math
import random

import pytest
import torch

from dlcourse.checks import close, expect, grade, hidden_test_accuracy, number, randint, rng, tensor

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}
MODULE_NAMES = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU"}


def _shallow_case(g):
    """Layer sizes that are pairwise different (so each weight's shape names its layer), weights, inputs."""
    while True:
        d, m, k = randint(g, 2, 12), randint(g, 2, 20), randint(g, 1, 6)
        if len({d, m, k}) == 3:
            break
    n = randint(g, 1, 40)
    return {
        "in_features": d,
        "hidden": m,
        "out_features": k,
        "W1": torch.randn(m, d, generator=g) / math.sqrt(d),
        "b1": torch.randn(m, generator=g) * 0.5,
        "W2": torch.randn(k, m, generator=g) / math.sqrt(m),
        "b2": torch.randn(k, generator=g) * 0.5,
        "x": torch.randn(n, d, generator=g) * 1.5,
    }


def _shallow_reference(case, activation):
    h = ACTIVATIONS[activation](case["x"].double() @ case["W1"].double().T + case["b1"].double())
    return h @ case["W2"].double().T + case["b2"].double()


def _check_network(got, case, activation, name):
    expect(
        got["loaded"] == 2 and got["linears"] == 2,
        f"{name} should hold exactly two nn.Linear layers, in_features -> hidden and hidden -> out_features",
    )
    out = tensor(got["out"], f"{name}'s output", shape=(len(case["x"]), case["out_features"]))
    expect(
        close(out, _shallow_reference(case, activation), atol=1e-5, rtol=1e-4),
        f"{name} with activation {activation!r} does not compute Linear -> {activation} -> Linear",
    )


# --- Exercise 1: ShallowNet ---


@grade(
    cell="test_shallow_net",
    points=1,
    hint="Linear -> activation -> Linear, nothing after the second layer; check each activation name",
)
def test_shallow_net_forward(nb, seed):
    """ShallowNet computes Linear -> activation -> Linear for sigmoid, tanh and relu, with the judge's weights."""
    g = rng(seed)
    for activation in ACTIVATIONS:
        case = _shallow_case(g)
        got = nb.call("shallow_net", activation=activation, **case)
        _check_network(got, case, activation, "ShallowNet")


@grade(
    cell="test_shallow_net",
    points=1,
    hint="exactly one hidden layer: two nn.Linear layers, the first created first, and nothing else "
    "with parameters",
)
def test_shallow_net_structure(nb, seed):
    """ShallowNet has one hidden layer: two nn.Linear layers whose parameters are listed first layer first."""
    g = rng(seed)
    case = _shallow_case(g)
    activation = random.Random(seed).choice(list(ACTIVATIONS))
    got = nb.call("shallow_net", activation=activation, **case)
    d, m, k = case["in_features"], case["hidden"], case["out_features"]
    expect(
        got["linears"] == 2,
        "ShallowNet should hold exactly two nn.Linear layers (one hidden layer)",
    )
    expect(
        got["n_params"] == d * m + m + m * k + k,
        f"ShallowNet({d}, {m}, {k}) should have {d * m + m + m * k + k} parameters, it has {got['n_params']}",
    )
    params = got["parameters"]
    expected = [case["W1"], case["b1"], case["W2"], case["b2"]]
    expect(
        isinstance(params, list)
        and len(params) == 4
        and all(
            type(p) is torch.Tensor and p.shape == e.shape and torch.equal(p, e)
            for p, e in zip(params, expected)
        ),
        "ShallowNet's parameters() should list the first layer's weight and bias, then the second "
        "layer's (create the in_features -> hidden layer first)",
    )
    _check_network(got, case, activation, "ShallowNet")


BAD_ACTIVATIONS = [
    "softplus",
    "gelu",
    "leaky_relu",
    "identity",
    "linear",
    "swish",
    "",
    "none",
    "elu",
]


@grade(
    cell="test_shallow_net",
    points=1,
    hint="check the name against the three allowed ones and raise ValueError(...) for anything else",
)
def test_shallow_net_rejects_unknown_activation(nb, seed):
    """ShallowNet accepts "sigmoid", "tanh" and "relu" and raises a ValueError for any other name."""
    for name in ACTIVATIONS:
        raised = nb.call("shallow_net_bad_activation", name=name)
        expect(
            raised is None,
            f"ShallowNet(2, 3, 1, {name!r}) should build a network, it raised {raised}",
        )
    for name in random.Random(seed).sample(BAD_ACTIVATIONS, 2):
        raised = nb.call("shallow_net_bad_activation", name=name)
        expect(
            raised == "ValueError",
            f"ShallowNet(2, 3, 1, {name!r}) should raise a ValueError, "
            + ("it raised nothing" if raised is None else f"it raised {raised}"),
        )


# --- Exercise 2: make_sequential ---


@grade(
    cell="test_make_sequential",
    points=1,
    hint="nn.Sequential(nn.Linear(...), the activation module, nn.Linear(...)): three children, in order",
)
def test_sequential_structure(nb, seed):
    """make_sequential returns an nn.Sequential of Linear, activation module, Linear, each doing its part."""
    g = rng(seed)
    for activation in ACTIVATIONS:
        case = _shallow_case(g)
        got = nb.call("make_sequential", activation=activation, **case)
        expect(
            got["is_sequential"],
            f"make_sequential should return an nn.Sequential, not a {got['type']}",
        )
        expect(
            got["children"] == ["Linear", MODULE_NAMES[activation], "Linear"],
            f"make_sequential(..., {activation!r}) should hold nn.Linear, nn.{MODULE_NAMES[activation]}(), "
            "nn.Linear, in this order",
        )
        x = case["x"].double()
        z = x @ case["W1"].double().T + case["b1"].double()
        h = ACTIVATIONS[activation](z)
        steps = [
            tensor(s, "a layer's output", shape=e.shape)
            for s, e in zip(got.get("steps", []), (z, h))
        ]
        expect(
            len(steps) == 2 and close(steps[0], z, atol=1e-5, rtol=1e-4),
            "the first child of make_sequential's network should be nn.Linear(in_features, hidden)",
        )
        expect(
            close(steps[1], h, atol=1e-5, rtol=1e-4),
            f"the second child should be the {activation} activation module",
        )
        out = tensor(got["out"], "make_sequential's output", shape=(len(x), case["out_features"]))
        expect(
            close(out, got["steps"][2], atol=1e-6, rtol=1e-5),
            "make_sequential's network should compute its three children in order, and nothing else",
        )
    for name in random.Random(seed).sample(BAD_ACTIVATIONS, 1):
        raised = nb.call("make_sequential_bad_activation", name=name)
        expect(
            raised == "ValueError",
            f"make_sequential(2, 3, 1, {name!r}) should raise a ValueError, like ShallowNet",
        )


@grade(
    cell="test_make_sequential",
    points=1,
    hint="the same three layers as ShallowNet, with the activation named by the argument",
)
def test_sequential_matches_shallow_net(nb, seed):
    """make_sequential's network computes Linear -> activation -> Linear with the judge's weights."""
    # The judge loads the same weights into both models (layer by layer) and compares each
    # with the float64 reference, so this test depends on make_sequential alone.
    g = rng(seed)
    for activation in ACTIVATIONS:
        case = _shallow_case(g)
        got = nb.call("make_sequential", activation=activation, **case)
        _check_network(got, case, activation, "make_sequential's network")


# --- Exercise 3: forward_backward ---


def _backprop_case(g, loss):
    n, d, m, k = randint(g, 1, 20), randint(g, 1, 8), randint(g, 1, 10), randint(g, 1, 4)
    f64 = torch.float64
    case = {
        "x": torch.randn(n, d, generator=g, dtype=f64),
        "W1": torch.randn(m, d, generator=g, dtype=f64) / math.sqrt(d),
        "b1": torch.randn(m, generator=g, dtype=f64) * 0.5,
        "W2": torch.randn(k, m, generator=g, dtype=f64) * 1.5,
        "b2": torch.randn(k, generator=g, dtype=f64) * 0.5,
    }
    if loss == "mse":
        case["y"] = torch.rand(n, k, generator=g, dtype=f64)
    else:
        case["y"] = torch.randint(0, 2, (n, k), generator=g).to(f64)
    return case


def _backprop_reference(case, loss):
    leaves = {name: case[name].clone().requires_grad_(True) for name in ("W1", "b1", "W2", "b2")}
    yhat = torch.sigmoid(
        torch.sigmoid(case["x"] @ leaves["W1"].T + leaves["b1"]) @ leaves["W2"].T + leaves["b2"]
    )
    if loss == "mse":
        value = torch.nn.functional.mse_loss(yhat, case["y"])
    else:
        value = torch.nn.functional.binary_cross_entropy(yhat, case["y"])
    value.backward()
    return value.item(), {name: leaf.grad for name, leaf in leaves.items()}


def _student_backprop(nb, case, loss):
    """forward_backward's loss (a 0-d tensor, as a float) and grads, called with autograd off."""
    got = nb.call("forward_backward", loss=loss, **case)
    grads = got["grads"]
    expect(
        isinstance(grads, dict) and set(grads) >= {"W1", "b1", "W2", "b2"},
        "forward_backward should return (loss, grads) with grads a dict with keys 'W1', 'b1', 'W2', 'b2'",
    )
    value = tensor(got["loss"], "forward_backward's loss", shape=(), dtype=torch.float64)
    return number(value, "forward_backward's loss"), grads


@grade(
    cell="test_forward_backward",
    points=1,
    hint="average over all N*k entries; return the loss as a 0-d tensor of the inputs' dtype",
)
def test_forward_loss_values(nb, seed):
    """forward_backward's loss is the mean MSE or BCE of the sigmoid network, as a 0-d float64 tensor."""
    g = rng(seed)
    for loss in ("mse", "bce"):
        case = _backprop_case(g, loss)
        value, _ = _student_backprop(nb, case, loss)
        expected, _ = _backprop_reference(case, loss)
        expect(
            abs(value - expected) <= 1e-6 * (1 + abs(expected)),
            f"forward_backward's {loss} loss differs from the mean {loss.upper()} of the sigmoid network's output",
        )


def _check_gradients(nb, seed, loss):
    g = rng(seed)
    for _ in range(3):
        case = _backprop_case(g, loss)
        _, grads = _student_backprop(nb, case, loss)
        _, expected = _backprop_reference(case, loss)
        for name, reference in expected.items():
            got = tensor(
                grads[name], f"grads[{name!r}] ({loss})", shape=reference.shape, dtype=torch.float64
            )
            expect(
                close(got, reference, atol=1e-6, rtol=1e-6),
                f"grads[{name!r}] differs from autograd's gradient for the {loss} loss",
            )


@grade(
    cell="test_forward_backward",
    points=2,
    hint="for MSE the output delta is 2 (Yhat - Y) Yhat (1 - Yhat) / (N k); no .backward(), no "
    "torch.autograd, and compute in the inputs' dtype",
)
def test_backward_mse(nb, seed):
    """forward_backward's MSE gradients equal autograd's in float64, computed without autograd."""
    _check_gradients(nb, seed, "mse")


@grade(
    cell="test_forward_backward",
    points=2,
    hint="for BCE the output delta is (Yhat - Y) / (N k); no .backward(), no torch.autograd, and "
    "compute in the inputs' dtype",
)
def test_backward_bce(nb, seed):
    """forward_backward's BCE gradients equal autograd's in float64, computed without autograd."""
    _check_gradients(nb, seed, "bce")


# --- Exercise 3b: numerical_gradient ---


def _smooth_case(g, shape):
    """f(x) = sum_j w_j sin(A_j . x + b_j) + sum_i c_i x_i^2 / 2, with its bounds made explicit.

    |w_j| <= 1 / m and |A_ji| <= 1, so the sine part's second and third derivatives are at most 1
    in size, and c_i in [2, 3] makes every f''_ii >= 1. For eps in [3e-4, 1e-3] the central
    difference is then off by at most eps^2 / 6 * |f'''| <= 1.7e-7 (plus float64 rounding,
    ~1e-16 / eps < 1e-12), while a one-sided difference is off by eps / 2 * f''_ii >= 1.5e-4:
    the tolerance 2e-5 sits a factor 100 above the first and 7 below the second.
    """
    f64 = torch.float64
    x = torch.randn(shape, generator=g, dtype=f64)
    n, m = x.numel(), randint(g, 1, 6)
    case = {
        "x": x,
        "eps": 3e-4 + 7e-4 * float(torch.rand(1, generator=g)),
        "A": torch.rand(m, n, generator=g, dtype=f64) * 2 - 1,
        "b": torch.randn(m, generator=g, dtype=f64),
        "w": (torch.rand(m, generator=g, dtype=f64) * 2 - 1) / m,
        "c": torch.rand(n, generator=g, dtype=f64) + 2,
    }
    leaf = x.clone().requires_grad_(True)
    flat = leaf.reshape(-1)
    value = (case["w"] * torch.sin(case["A"] @ flat + case["b"])).sum() + 0.5 * (
        case["c"] * flat * flat
    ).sum()
    value.backward()
    return case, leaf.grad


@grade(
    cell="test_numerical_gradient",
    points=2,
    hint="for each entry: f(x + eps e_i) and f(x - eps e_i) on a copy of x, divided by 2 eps; "
    "put the entry back before the next one",
)
def test_numerical_gradient(nb, seed):
    """numerical_gradient's central differences match autograd in float64, for any shape, x unchanged."""
    g = rng(seed)
    shapes = [
        (randint(g, 1, 12),),
        (randint(g, 1, 4), randint(g, 1, 4)),
        (2, randint(g, 1, 3), randint(g, 1, 3)),
    ]
    for shape in shapes:
        case, expected = _smooth_case(g, shape)
        got = nb.call(
            "numerical_gradient",
            x=case["x"],
            eps=case["eps"],
            A=case["A"],
            b=case["b"],
            w=case["w"],
            c=case["c"],
        )
        grad = tensor(got["grad"], "numerical_gradient's result", shape=shape, dtype=torch.float64)
        expect(
            close(grad, expected, atol=2e-5),
            f"numerical_gradient (eps={case['eps']:.1e}, x of shape {shape}) differs from the "
            "gradient: use central differences (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)",
        )
        after = tensor(got["x_after"], "x after numerical_gradient", shape=shape)
        expect(close(after, case["x"], atol=1e-12), "numerical_gradient should leave x as it was")


# --- Exercise 4: train_xor ---

XOR_CORNERS = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_LABELS = torch.tensor([0.0, 1.0, 1.0, 0.0])
XOR_NOISY = 1000


def _xor_points(g, n, noise=0.1):
    corners = torch.randint(0, 2, (n, 2), generator=g).float()
    return corners + noise * torch.randn(n, 2, generator=g), (
        corners[:, 0] != corners[:, 1]
    ).float()


def _xor_attempt(nb, g, hidden, epochs, seed, repeat=False):
    """One call of train_xor: does its model get the corners and >= 95% of fresh noisy points right?"""
    x_noisy, y_noisy = _xor_points(g, XOR_NOISY)
    got = nb.call(
        "train_xor",
        hidden=hidden,
        epochs=epochs,
        seed=seed,
        x=torch.cat([XOR_CORNERS, x_noisy]),
        repeat=repeat,
    )
    expect(
        got["is_reference"]
        and got["activation"] == "Tanh"
        and got["linear_shapes"] == [[hidden, 2], [1, hidden]],
        f'train_xor(hidden={hidden}, ...) should return the ShallowNet(2, {hidden}, 1, "tanh") it trained',
    )
    out = tensor(got["out"], "the XOR model's output", shape=(4 + XOR_NOISY, 1))
    if repeat:
        again = tensor(got["again"], "the XOR model's output", shape=out.shape)
        expect(
            torch.equal(out, again),
            "two calls of train_xor with the same seed should train the same model "
            "(torch.manual_seed(seed) before building it)",
        )
    predicted = (out.reshape(-1) > 0).float()
    corners_right = bool((predicted[:4] == XOR_LABELS).all())
    noisy_accuracy = (predicted[4:] == y_noisy).double().mean().item()
    return corners_right and noisy_accuracy >= 0.95


@grade(
    cell="test_train_xor",
    points=3,
    hint='seed with torch.manual_seed(seed) before building ShallowNet(2, hidden, 1, "tanh"); train with '
    "BCEWithLogitsLoss and Adam(lr=0.05) on all 200 points, and return the model (it outputs logits)",
)
def test_train_xor_solves_xor(nb, seed):
    """train_xor returns a reproducible tanh ShallowNet whose logits classify XOR corners and fresh noisy points."""
    # A correct train_xor can still land in a local minimum for an unlucky seed. Measured on
    # the reference (hidden = 16, the narrowest the judge uses, 300 epochs): 0 failures in
    # 8,000 seeds, so the per-seed failure rate q is below 3.75e-4 at 95% confidence (and
    # hidden = 6 or 8 already fail only about once in 1,000). Sampling noise of the 1,000
    # fresh points is negligible: their error rate under a trained model is about 0.1% and
    # the check allows 5% (Chernoff: P < 1e-18 even at a true error of 1%).
    # The test passes when the first seed works or, failing that, the next two both do:
    # P(fail) = q * (1 - (1 - q)^2) <= 2 q^2 < 3e-7. A solution that fails half of its seeds
    # passes only 62.5% of the time, one that never solves XOR never does.
    # The first seed is trained twice: the same seed must give exactly the same model (both
    # runs are in one worker, on one device), which a missing torch.manual_seed breaks.
    g = rng(seed)
    hidden, epochs = randint(g, 16, 32), 300
    seeds = [randint(g, 0, 2**31 - 1) for _ in range(3)]
    if _xor_attempt(nb, g, hidden, epochs, seeds[0], repeat=True):
        return
    for retry in seeds[1:]:
        expect(
            _xor_attempt(nb, g, hidden, epochs, retry),
            f"train_xor(hidden={hidden}, epochs={epochs}, seed=...) returned a model that does not classify "
            "the four XOR corners and at least 95% of fresh noisy XOR points correctly",
        )


# --- Exercise 5: fit_1d ---


def smooth_target(g):
    """A smooth function for fit_1d and its interval: a random sum of three sines on a random
    interval inside [-3, 3], scaled to mean 0 and variance 1 there, and bent enough that the
    best straight line leaves at least half of that variance (so a linear fit cannot pass).
    Returns (f, low, high), f mapping float tensors (N, 1) to float64 values (N, 1)."""
    f64 = torch.float64
    center = float(torch.rand(1, generator=g)) - 0.5
    half = 1 + float(torch.rand(1, generator=g))
    grid = torch.linspace(center - half, center + half, 1001, dtype=f64)[:, None]
    line = torch.cat([grid, torch.ones_like(grid)], 1)
    while True:
        amplitude = torch.randn(3, generator=g, dtype=f64)
        frequency = math.pi * (0.5 + 1.5 * torch.rand(3, generator=g, dtype=f64)) / half
        phase = 2 * math.pi * torch.rand(3, generator=g, dtype=f64)

        def raw(x, amplitude=amplitude, frequency=frequency, phase=phase):
            return (amplitude * torch.sin(frequency * (x.double() - center) + phase)).sum(
                -1, keepdim=True
            )

        values = raw(grid)
        residual = values - line @ torch.linalg.lstsq(line, values).solution
        if residual.var() >= 0.5 * values.var():
            break
    mean, std = values.mean(), values.std()
    return (lambda x: (raw(x) - mean) / std), center - half, center + half


def fit_1d_case(g):
    """The judge's points for fit_1d: x uniform on the interval (float32, (N, 1), random order),
    y = f(x), and a grid of 512 points spanning the interval where the fit is measured."""
    f, low, high = smooth_target(g)
    n = randint(g, 100, 200)
    x = (low + (high - low) * torch.rand(n, 1, generator=g, dtype=torch.float64)).float()
    grid = torch.linspace(low, high, 512)[:, None]
    return f, x, f(x).float(), grid


def _mse(out, f, grid):
    """Mean squared error of a model's output on the grid against f, in float64."""
    return ((out.double() - f(grid)) ** 2).mean().item()


@grade(
    cell="test_fit_1d",
    points=1,
    hint="nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, 1)): one hidden layer "
    "of exactly `hidden` ReLU units, nothing else",
)
def test_fit_1d_structure(nb, seed):
    """fit_1d builds one hidden layer of `hidden` ReLU units (run with the judge's weights).

    The judge loads its own weights into the two nn.Linear layers and compares the output on a
    grid with Linear(1, hidden) -> ReLU -> Linear(hidden, 1) computed here in float64."""
    g = rng(seed)
    for hidden in (randint(g, 2, 9), randint(g, 10, 60)):
        _, x, y, grid = fit_1d_case(g)
        case = {
            "W1": torch.randn(hidden, 1, generator=g),
            "b1": torch.randn(hidden, generator=g),
            "W2": torch.randn(1, hidden, generator=g) / math.sqrt(hidden),
            "b2": torch.randn(1, generator=g),
        }
        got = nb.call("fit_1d_structure", hidden=hidden, x=x, y=y, grid=grid, **case)
        expect(
            got["loaded"] == 2 and got["linears"] == 2,
            f"fit_1d(hidden={hidden}, ...) should return a network with exactly two nn.Linear "
            f"layers, Linear(1, {hidden}) and Linear({hidden}, 1)",
        )
        out = tensor(got["out"], "fit_1d's model output", shape=(len(grid), 1))
        hinges = torch.relu(grid.double() @ case["W1"].double().T + case["b1"].double())
        expected = hinges @ case["W2"].double().T + case["b2"].double()
        expect(
            close(out, expected, atol=1e-5, rtol=1e-4),
            f"fit_1d(hidden={hidden}, ...)'s network does not compute Linear -> ReLU -> Linear "
            "(one hidden layer of ReLU units, nothing after the output layer)",
        )


def _replay_fit_1d(hidden, x, y, epochs, seed):
    """The exercise's recipe, run here: the parameters after `epochs` steps, flattened."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(
            torch.nn.Linear(1, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(epochs):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _fit_1d_parameters(got, hidden):
    """The student's two layers' parameters, flattened in the recipe's order, shapes checked."""
    linears = got["linears"]
    expect(
        isinstance(linears, list)
        and len(linears) == 2
        and [tuple(t.shape) for pair in linears for t in pair]
        == [(hidden, 1), (hidden,), (1, hidden), (1,)],
        f"fit_1d(hidden={hidden}, ...) should build Linear(1, {hidden}) first, then "
        f"Linear({hidden}, 1)",
    )
    return torch.cat([t.reshape(-1).float() for pair in linears for t in pair])


def _matching(got, expected):
    """The fraction of entries equal to the replay's up to float32 rounding."""
    return ((got - expected).abs() <= 1e-5 + 1e-4 * expected.abs()).double().mean().item()


@grade(
    cell="test_fit_1d",
    points=1,
    hint="torch.manual_seed(seed) right before building the model; Adam(lr=0.02) on "
    "F.mse_loss(model(x), y) over all points; optimizer.zero_grad() before every backward; "
    "do not modify x or y",
)
def test_fit_1d_recipe(nb, seed):
    """fit_1d follows the recipe: seeded, Adam steps as the judge replays them, x and y unchanged.

    Also: two calls with the same arguments give the same model."""
    # The judge replays the recipe in float32 from the same seed. Other correct ways to write it
    # (another loss expression, another order of the sum) differ by float32 rounding, ~1e-7
    # relative, far inside the 1e-5 + 1e-4 |p| tolerance; Adam's first steps can amplify that
    # only for a gradient entry within ~1e-7 of 0, so up to 10% of the entries may differ
    # (measured: two other ways to write it, a module class with ((out - y) ** 2).mean() and
    # a sum / N, matched 100% of the entries on each of 3,000 judge draws).
    # Every wrong recipe moves nearly every entry that gets a gradient by about lr = 0.02 per
    # step: untrained, unseeded, no zero_grad, another loss or learning rate leave matching only
    # the dead units' entries, about a quarter with 30 to 60 units (all of them dead in fewer
    # than 1e-6 of the draws).
    g = rng(seed)
    _, x, y, grid = fit_1d_case(g)
    hidden, steps, run_seed = randint(g, 30, 60), randint(g, 2, 4), randint(g, 1, 2**31 - 1)
    for epochs in (0, steps):
        got = nb.call(
            "fit_1d", hidden=hidden, x=x, y=y, epochs=epochs, seed=run_seed, grid=grid, repeat=True
        )
        params = _fit_1d_parameters(got, hidden)
        expected = _replay_fit_1d(hidden, x, y, epochs, run_seed)
        if epochs == 0:
            expect(
                _matching(params, expected) >= 0.9,
                "with epochs=0, fit_1d should return the freshly built model: call "
                "torch.manual_seed(seed) right before building it",
            )
            continue
        expect(
            torch.equal(tensor(got["x_after"], "x", shape=x.shape), x)
            and torch.equal(tensor(got["y_after"], "y", shape=y.shape), y),
            "fit_1d should leave x and y as they were (it changed them in place)",
        )
        out = tensor(got["out"], "fit_1d's model output", shape=(len(grid), 1))
        again = tensor(got["again"], "fit_1d's model output", shape=(len(grid), 1))
        expect(
            torch.equal(out, again),
            "two calls of fit_1d with the same arguments should return the same model",
        )
        expect(
            _matching(params, expected) >= 0.9,
            f"after {epochs} epochs fit_1d's parameters are not those of the recipe: "
            "torch.optim.Adam(lr=0.02), F.mse_loss(model(x), y) on all points, the gradients "
            "cleared before every backward pass",
        )


FIT_WIDTHS = [1, 100]
FIT_EPOCHS = 2000
# Measured on the reference recipe over 300 judge draws of exactly this experiment (widths 1 and
# 100, 2000 epochs, the functions of smooth_target, whose variance on the interval is 1): the
# 100-unit network's MSE on the grid had median 7.4e-4, 99th percentile 0.040, maximum 0.093;
# the ratio MSE(100) / MSE(1) median 8.8e-4, 99th percentile 0.089, maximum 0.11. The 1-unit
# network's MSE was at least 0.15, untrained 100-unit networks' at least 0.73, and any straight
# line's is at least 0.5 (smooth_target rejects functions a line fits better).
FIT_BOUND = 0.3
FALL_RATIO = 0.5


@pytest.fixture(scope="module")
def fitted_1d(nb, module_seed):
    """fit_1d with 1 and with 100 hidden units on one judge function, run once for two tests."""
    g = rng(module_seed)
    f, x, y, grid = fit_1d_case(g)
    try:
        outs = nb.call(
            "fit_1d_widths",
            widths=FIT_WIDTHS,
            x=x,
            y=y,
            epochs=FIT_EPOCHS,
            seed=randint(g, 1, 2**31 - 1),
            grid=grid,
        )
    except Exception as exc:  # reported by each test that needs it
        outs = exc
    return f, grid, outs


def _width_errors(fitted_1d):
    """Each width's mean squared error on the grid (the function's variance there is 1)."""
    f, grid, outs = fitted_1d
    if isinstance(outs, Exception):
        raise outs
    expect(
        isinstance(outs, list) and len(outs) == len(FIT_WIDTHS),
        "fit_1d should return the trained model",
    )
    return [
        _mse(tensor(out, "fit_1d's model output", shape=(len(grid), 1)), f, grid) for out in outs
    ]


@grade(
    cell="test_fit_1d",
    points=1,
    hint="train for all `epochs` steps and return the model you trained",
)
def test_fit_1d_wide_net_fits(nb, fitted_1d):
    """A 100-unit fit_1d network, trained 2000 epochs, fits a smooth judge function closely."""
    # The bound 0.3 is 3 times the worst of the 300 reference runs; an exponential fit to the
    # top 10% (or top 5%) of their MSEs gives P(MSE > 0.3) ~ 1e-10 (~1e-8). It stays below what
    # a straight line (>= 0.5), an untrained network (>= 0.73) or a constant (about 1) reaches.
    mse_narrow, mse_wide = _width_errors(fitted_1d)
    expect(
        mse_wide <= FIT_BOUND,
        "after 2000 epochs fit_1d's 100-unit network should follow the function closely (its "
        "mean squared error is a large part of the function's variance)",
    )


@grade(
    cell="test_fit_1d",
    points=1,
    hint="build the hidden layer with `hidden` units, as given",
)
def test_fit_1d_error_falls_with_width(nb, fitted_1d):
    """On the same function, fit_1d's 100-unit network fits far better than its 1-unit one."""
    # Same 300 reference runs: an exponential fit to the top 10% (top 5%) of the ratios
    # MSE(100) / MSE(1) gives P(ratio > 0.5) ~ 1e-10 (~3e-8), and MSE(100) > 0.5 is rarer still
    # (see the bound of the test above). A network that ignores `hidden` gives a ratio of
    # exactly 1 (the same seed trains the same model twice); untrained ones have MSE(100) > 0.5.
    mse_narrow, mse_wide = _width_errors(fitted_1d)
    expect(
        mse_wide <= 0.5 and mse_wide <= FALL_RATIO * mse_narrow,
        "fit_1d's 100-unit network should fit the function far better than its 1-unit network",
    )


# --- Exercise 6: width_for_budget ---


def mlp_count(n_in, n_out, width, depth):
    """Parameters of make_mlp(n_in, n_out, width, depth), biases included."""
    return (n_in + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * n_out


def _budget_sizes(g):
    return randint(g, 1, 50), randint(g, 1, 20), randint(g, 1, 4)


@grade(
    cell="test_width_for_budget",
    points=1,
    hint="count (n_in + 1) w + (depth - 1)(w + 1) w + (w + 1) n_out and keep the largest w whose "
    "count is <= budget; return int(w)",
)
def test_width_for_budget_largest(nb, seed):
    """width_for_budget returns, as an int, the largest width whose network fits in the budget."""
    # Exact integers, no tolerance. The first budget is exactly some width's count (it must be
    # accepted), the second one short of the next width's count in a deeper network (where a
    # count missing any term lets the next width in); the others anywhere between the two.
    g = rng(seed)
    for k in range(6):
        n_in, n_out, depth = _budget_sizes(g)
        if k == 1:
            depth = randint(g, 2, 4)
        width = randint(g, 1, 300)
        low, high = mlp_count(n_in, n_out, width, depth), mlp_count(n_in, n_out, width + 1, depth)
        budget = low if k == 0 else high - 1 if k == 1 else randint(g, low, high - 1)
        got = nb.call("width_for_budget", n_in=n_in, n_out=n_out, budget=budget, depth=depth)
        expect(
            type(got) is int,
            f"width_for_budget should return a Python int, not a {type(got).__name__}",
        )
        expect(
            got == width,
            f"width_for_budget({n_in}, {n_out}, {budget}, {depth}) is not the largest width whose "
            f"network has at most {budget} parameters",
        )


@grade(
    cell="test_width_for_budget",
    points=1,
    hint="raise ValueError(...) for depth < 1 and when width 1 already exceeds the budget; a "
    "budget of exactly width 1's count gives 1",
)
def test_width_for_budget_rejects(nb, seed):
    """width_for_budget raises ValueError for depth < 1 or too small a budget; an exact fit gives 1.

    A budget of exactly width 1's parameter count must give 1, not an error."""
    # The budget cases use one hidden layer, so that this test depends on the clauses it checks,
    # not on counting deeper networks (the test above checks that).
    g = rng(seed)
    n_in, n_out, _ = _budget_sizes(g)
    depth, smallest = 1, mlp_count(n_in, n_out, 1, 1)
    cases = [
        (randint(g, -1, 0), 10 * smallest, "a depth below 1"),
        (depth, randint(g, 0, smallest - 1), "a budget too small for even one unit per layer"),
    ]
    for bad_depth, budget, why in cases:
        got = nb.call(
            "width_for_budget_error", n_in=n_in, n_out=n_out, budget=budget, depth=bad_depth
        )
        expect(
            got.get("raised") == "ValueError",
            f"width_for_budget({n_in}, {n_out}, {budget}, {bad_depth}) ({why}) should raise a "
            "ValueError, "
            + (f"it raised {got['raised']}" if "raised" in got else "it returned a width"),
        )
    got = nb.call("width_for_budget_error", n_in=n_in, n_out=n_out, budget=smallest, depth=depth)
    expect(
        got.get("value") == 1 and type(got.get("value")) is int,
        f"width_for_budget({n_in}, {n_out}, {smallest}, {depth}) should return 1: width 1 fits "
        "that budget exactly",
    )


# --- Exercise 7: layer_gradient_norms ---


def _random_mlp(g):
    sizes = [randint(g, 1, 12) for _ in range(randint(g, 3, 6))]
    layers = [
        (torch.randn(b, a, generator=g) / math.sqrt(a), torch.randn(b, generator=g) * 0.3)
        for a, b in zip(sizes[:-1], sizes[1:])
    ]
    names = list(ACTIVATIONS)
    activations = [names[randint(g, 0, 2)] for _ in range(len(layers) - 1)]
    n = randint(g, 1, 30)
    return (
        layers,
        activations,
        torch.randn(n, sizes[0], generator=g),
        torch.randn(n, sizes[-1], generator=g),
    )


def _reference_norms(layers, activations, x, y):
    leaves = [(w.double().requires_grad_(True), b.double()) for w, b in layers]
    h = x.double()
    for k, (w, b) in enumerate(leaves):
        h = h @ w.T + b
        if k < len(activations):
            h = ACTIVATIONS[activations[k]](h)
    torch.nn.functional.mse_loss(h, y.double()).backward()
    return torch.tensor([w.grad.norm().item() for w, _ in leaves], dtype=torch.float64)


def _student_norms(nb, layers, activations, x, y, stale):
    got = nb.call(
        "layer_gradient_norms", layers=layers, activations=activations, x=x, y=y, stale=stale
    )
    expect(
        isinstance(got, list) and len(got) == len(layers),
        f"layer_gradient_norms should return a list with one norm per nn.Linear layer ({len(layers)} here)",
    )
    expect(
        all(type(v) is float for v in got),
        "layer_gradient_norms should return Python floats (.item()), not tensors",
    )
    return torch.tensor([number(v, "a gradient norm") for v in got], dtype=torch.float64)


@grade(
    cell="test_layer_gradient_norms",
    points=2,
    hint="F.mse_loss(model(x), y).backward(), then m.weight.grad.norm().item() for each nn.Linear m "
    "in model.modules()",
)
def test_norms_match_autograd(nb, seed):
    """layer_gradient_norms gives, as floats, the norm of dL/dW of every nn.Linear weight, first to last."""
    g = rng(seed)
    for _ in range(3):
        layers, activations, x, y = _random_mlp(g)
        got = _student_norms(nb, layers, activations, x, y, stale=False)
        expect(
            close(got, _reference_norms(layers, activations, x, y), atol=1e-6, rtol=1e-4),
            "layer_gradient_norms should return the norm of dL/dW of each nn.Linear weight, first layer to last, "
            "for L = F.mse_loss(model(x), y)",
        )


@grade(
    cell="test_layer_gradient_norms",
    points=1,
    hint="backward() adds to .grad: call model.zero_grad() first",
)
def test_norms_ignore_old_gradients(nb, seed):
    """layer_gradient_norms is right for a model that already holds gradients from an earlier backward pass."""
    g = rng(seed)
    layers, activations, x, y = _random_mlp(g)
    got = _student_norms(nb, layers, activations, x, y, stale=True)
    expect(
        close(got, _reference_norms(layers, activations, x, y), atol=1e-6, rtol=1e-4),
        "layer_gradient_norms is off when the model already holds gradients from an earlier backward pass "
        "(clear them first)",
    )


def _he_stack(g, in_features, width, out_features, depth=10):
    sizes = [in_features] + [width] * (depth - 1) + [out_features]
    return [
        (torch.randn(b, a, generator=g) * math.sqrt(2 / a), torch.zeros(b))
        for a, b in zip(sizes[:-1], sizes[1:])
    ]


@grade(
    cell="test_layer_gradient_norms",
    points=1,
    hint="list the norms first layer (next to the input) to last",
)
def test_vanishing_gradients(nb, seed):
    """In a 10-layer He-initialised stack the norms vanish towards the input for sigmoid, not for ReLU."""
    # Ten He-initialised layers, targets 2 away from the untrained outputs (so the output
    # error never averages out to ~0, which would make the last layer's gradient tiny by
    # chance). The float64 reference on 20,000 draws of exactly these inputs: log10(first /
    # last) has mean -5.71, sd 0.22, maximum -3.55 for sigmoid, and mean -1.03, sd 0.20,
    # minimum -1.81 for ReLU. The threshold 1e-3 is 12 sd from the first and 9.7 sd from
    # the second (normal tails below 1e-20), and more than a decade beyond both extremes.
    g = rng(seed)
    i, w, o, n = randint(g, 2, 20), randint(g, 32, 64), randint(g, 1, 5), randint(g, 64, 256)
    x, y = torch.randn(n, i, generator=g), torch.randn(n, o, generator=g) + 2
    for activation in ("sigmoid", "relu"):
        norms = _student_norms(nb, _he_stack(g, i, w, o), [activation] * 9, x, y, stale=False)
        expect(
            bool((norms > 0).all()),
            "every layer of a 10-layer stack should have a nonzero gradient norm",
        )
        ratio = (norms[0] / norms[-1]).item()
        if activation == "sigmoid":
            expect(
                ratio < 1e-3,
                "in a 10-layer sigmoid stack the first layer's gradient norm should be far "
                "smaller than the last layer's (is the list ordered first to last?)",
            )
        else:
            expect(
                ratio > 1e-3,
                "in a 10-layer ReLU stack with He initialisation the first and last layers' "
                "gradient norms should be of similar size (is the list ordered first to last?)",
            )


# --- Exercise 8: fit_curves ---


def make_circles(g, n, noise=0.5):
    """The notebook's make_circles: class 0 around radius 1, class 1 around radius 2, blurred."""
    y = torch.randint(0, 2, (n,), generator=g)
    t = torch.rand(n, generator=g) * 2 * math.pi
    r = 1.0 + y.float()
    return torch.stack([r * torch.cos(t), r * torch.sin(t)], 1) + noise * torch.randn(
        n, 2, generator=g
    ), y


def fit_case(seed):
    """The judge's fit_curves experiment: data, widths, epochs, weight decay, training seed."""
    g = rng(seed)
    data = (*make_circles(g, 40), *make_circles(g, 1000))
    hidden_sizes = [1, randint(g, 4, 16), randint(g, 128, 256)]
    epochs = randint(g, 400, 500)
    weight_decay = 0.03 + 0.02 * float(torch.rand(1, generator=g))
    return {
        "data": data,
        "hidden_sizes": hidden_sizes,
        "epochs": epochs,
        "lr": 0.03,
        "weight_decay": weight_decay,
        "seed": randint(g, 0, 2**31 - 1),
    }


@pytest.fixture(scope="module")
def fitted(nb):
    """fit_curves without and with weight decay, run once for the three tests below."""
    case = fit_case(random.SystemRandom().randrange(2**31))
    runs = {}
    for key, weight_decay in (("plain", 0.0), ("decay", case["weight_decay"])):
        try:
            runs[key] = nb.call(
                "fit_curves",
                hidden_sizes=case["hidden_sizes"],
                weight_decay=weight_decay,
                data=case["data"],
                epochs=case["epochs"],
                lr=case["lr"],
                seed=case["seed"],
            )
        except Exception as exc:  # reported by each test that needs it
            runs[key] = exc
    return case, runs


def _curves(case, run, name):
    if isinstance(run, Exception):
        raise run
    expect(isinstance(run, dict), "fit_curves should return (train_losses, val_losses)")
    shape = (len(case["hidden_sizes"]), case["epochs"])
    return (
        tensor(run["train"], f"fit_curves' training losses{name}", shape=shape),
        tensor(run["val"], f"fit_curves' validation losses{name}", shape=shape),
    )


REPLAYED = 5  # epochs of the recipe the judge replays


def _replay(case, hidden, weight_decay):
    """The recipe, run here for the first REPLAYED epochs: initial parameters and both curves."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(case["seed"])
        first, second = torch.nn.Linear(2, hidden), torch.nn.Linear(hidden, 2)
    model = torch.nn.Sequential(first, torch.nn.ReLU(), second)
    initial = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.Adam(model.parameters(), lr=case["lr"], weight_decay=weight_decay)
    x_train, y_train, x_val, y_val = case["data"]
    train, val = [], []
    for _ in range(REPLAYED):
        with torch.no_grad():
            val.append(torch.nn.functional.cross_entropy(model(x_val), y_val).item())
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x_train), y_train)
        loss.backward()
        optimizer.step()
        train.append(loss.item())
    return initial, torch.tensor(train, dtype=torch.float64), torch.tensor(val, dtype=torch.float64)


def _final(curve):
    """The mean of the last 10 epochs: the loss where training ended, without step-to-step jitter."""
    return curve[..., -10:].double().mean(-1)


@grade(
    cell="test_fit_curves",
    points=1,
    hint="torch.manual_seed(seed) before each model; record the validation loss before the step "
    "(under torch.no_grad()) and the training loss of that step, without the penalty",
)
def test_fit_curves_recipe(nb, fitted):
    """fit_curves follows the recipe: seeded models, and in its first epochs the losses the judge replays."""
    # The judge replays the first 5 epochs from the same initial weights, in float32 like the
    # student's run. Floating-point differences (another way to write the loss, another device)
    # are ~1e-6 after 5 Adam steps; recording the validation loss after the step instead of
    # before, adding the penalty to the training loss, or reseeding once for all widths moves
    # the values by 1e-2 or more.
    case, runs = fitted
    for key, weight_decay, name in (
        ("plain", 0.0, ""),
        ("decay", case["weight_decay"], " (with weight decay)"),
    ):
        train, val = _curves(case, runs[key], name)
        initial = runs[key]["initial"]
        expect(
            isinstance(initial, list) and len(initial) == len(case["hidden_sizes"]),
            'fit_curves should build one ShallowNet(2, h, 2, "relu") per width, in the order given',
        )
        for i, hidden in enumerate(case["hidden_sizes"]):
            start, train_ref, val_ref = _replay(case, hidden, weight_decay)
            expect(
                isinstance(initial[i], list)
                and len(initial[i]) == 4
                and all(
                    type(p) is torch.Tensor and p.shape == q.shape and torch.equal(p, q)
                    for p, q in zip(initial[i], start)
                ),
                "fit_curves should call torch.manual_seed(seed) right before building each width's model",
            )
            expect(
                close(val[i, :REPLAYED], val_ref, atol=1e-3, rtol=1e-3),
                f"fit_curves' validation losses{name} should be the cross-entropy on the validation set "
                "with the parameters before each step",
            )
            expect(
                close(train[i, :REPLAYED], train_ref, atol=1e-3, rtol=1e-3),
                f"fit_curves' training losses{name} should be the cross-entropy (without the penalty) "
                "computed for each step, with Adam(lr=lr, weight_decay=weight_decay), full batch",
            )


@grade(
    cell="test_fit_curves",
    points=1,
    hint="train every width for all the epochs, and keep row i for hidden_sizes[i]",
)
def test_training_loss_falls_with_width(nb, fitted):
    """After training, the widest network's training loss is far below the one-unit network's."""
    # The narrowest network has one ReLU unit: a straight-line boundary, which cannot fit
    # rings (its final training loss stayed >= 0.28 in every run below), while 128 or more
    # units memorise 40 points. The reference, run on 2,400 draws of this experiment at the
    # two least favourable corners (widest 128 units for 400 epochs, and 256 for 500; weight
    # decay 0.03): the ratio widest / narrowest had median 0.005-0.010, 99th percentile
    # 0.10-0.13 and maximum 0.20. An exponential fit to the top 10% of the ratios (the
    # worse corner) gives P(ratio > 0.7) ~ 1e-10. Not training at all gives a ratio near 1.
    case, runs = fitted
    train, _ = _curves(case, runs["plain"], "")
    narrow, wide = _final(train[0]).item(), _final(train[-1]).item()
    expect(
        wide < 0.7 * narrow,
        f"after training, the widest network (hidden={case['hidden_sizes'][-1]}) should reach a far lower "
        f"training loss than the narrowest (hidden={case['hidden_sizes'][0]})",
    )


@grade(cell="test_fit_curves", points=2, hint="pass weight_decay to torch.optim.Adam")
def test_weight_decay_narrows_gap(nb, fitted):
    """Weight decay narrows the widest network's gap between validation and training loss."""
    # Same 2,400 reference runs: the unregularised gap was >= 0.73 in every run (the widest
    # net memorises the overlapping rings and its validation loss explodes, median 2.3-2.5),
    # while weight decay 0.03 keeps it at a median validation loss of 0.51. The ratio
    # gap_wd / gap had median 0.05-0.06, 99th percentile 0.18, maximum 0.32; an exponential
    # fit to its top 10% (the worse corner) gives P(ratio > 0.7) ~ 1e-9. Ignoring
    # weight_decay gives a ratio of exactly 1 (same seed, same run).
    case, runs = fitted
    train, val = _curves(case, runs["plain"], "")
    train_wd, val_wd = _curves(case, runs["decay"], " (with weight decay)")
    gap, gap_wd = (
        (_final(val[-1]) - _final(train[-1])).item(),
        (_final(val_wd[-1]) - _final(train_wd[-1])).item(),
    )
    expect(
        gap > 0,
        "without weight decay, the widest network's validation loss should end above its training loss",
    )
    expect(
        gap_wd < 0.7 * gap,
        "weight decay should narrow the gap between the widest network's validation and training losses",
    )


# --- Exercise 9: class_weights and balanced_accuracy ---


@grade(
    cell="test_class_balance",
    points=1,
    hint="w_c = N / (C n_c) with torch.bincount; C = num_classes when given; return float32",
)
def test_class_weights(nb, seed):
    """class_weights returns the float32 inverse-frequency weights N / (C n_c), with and without num_classes."""
    g = rng(seed)
    for explicit in (False, True):
        C = randint(g, 2, 8)
        counts = torch.randint(1, 40, (C,), generator=g)
        y = torch.repeat_interleave(torch.arange(C), counts)
        y = y[torch.randperm(len(y), generator=g)]
        got = tensor(
            nb.call("class_weights", y=y, num_classes=C if explicit else None),
            "class_weights' result",
            shape=(C,),
            dtype=torch.float32,
        )
        expected = len(y) / (C * counts.double())
        expect(
            close(got, expected, atol=1e-6, rtol=1e-5),
            "class_weights should return N / (C * n_c) for each class c",
        )


def _balanced(nb, preds, y):
    got = nb.call("balanced_accuracy", preds=preds, y=y)
    expect(
        type(got) is float,
        f"balanced_accuracy should return a Python float (.item()), not a {type(got).__name__}",
    )
    return number(got, "balanced_accuracy's result")


@grade(
    cell="test_class_balance",
    points=1,
    hint="the mean over classes of (correct predictions of class c) / (examples of class c), as a float",
)
def test_balanced_accuracy(nb, seed):
    """balanced_accuracy is the mean per-class recall, as a Python float."""
    g = rng(seed)
    C = randint(g, 2, 6)
    n = randint(g, C, 60)
    y = torch.cat([torch.arange(C), torch.randint(0, C, (n - C,), generator=g)])
    y = y[torch.randperm(n, generator=g)]
    preds = torch.where(torch.rand(n, generator=g) < 0.6, y, torch.randint(0, C, (n,), generator=g))
    got = _balanced(nb, preds, y)
    expected = sum((preds[y == c] == c).double().mean().item() for c in range(C)) / C
    expect(
        abs(got - expected) <= 1e-6,
        "balanced_accuracy should be the mean over classes of each class's recall",
    )


@grade(
    cell="test_class_balance",
    points=1,
    hint="average over torch.unique(y), the classes that occur in y, not over range(C)",
)
def test_balanced_accuracy_absent_class(nb, seed):
    """balanced_accuracy averages the recall over the classes that occur in y only."""
    g = rng(seed)
    C = randint(g, 3, 6)
    missing = randint(g, 0, C - 1)
    present = torch.tensor([c for c in range(C) if c != missing])
    n = randint(g, C, 60)
    y = present[torch.randint(0, len(present), (n,), generator=g)]
    y[: len(present)] = present
    preds = torch.where(torch.rand(n, generator=g) < 0.5, y, torch.randint(0, C, (n,), generator=g))
    got = _balanced(nb, preds, y)
    expected = sum((preds[y == c] == c).double().mean().item() for c in present.tolist()) / len(
        present
    )
    expect(
        abs(got - expected) <= 1e-6,
        "balanced_accuracy should average the recall over the classes that occur in y only",
    )


def imbalanced_case(g, n_major=900, n_minor=100, n_test=2000, distance=(1.5, 2.0)):
    """Two unit-variance Gaussian classes 9:1, 1.5 to 2 apart in a random direction."""
    angle = float(torch.rand(1, generator=g)) * 2 * math.pi
    gap = distance[0] + (distance[1] - distance[0]) * float(torch.rand(1, generator=g))
    shift = gap * torch.tensor([math.cos(angle), math.sin(angle)])
    center = torch.randn(2, generator=g)
    x = torch.cat(
        [
            center + torch.randn(n_major, 2, generator=g),
            center + shift + torch.randn(n_minor, 2, generator=g),
        ]
    )
    y = torch.cat([torch.zeros(n_major, dtype=torch.long), torch.ones(n_minor, dtype=torch.long)])
    order = torch.randperm(len(y), generator=g)
    x_test = (
        center + shift + torch.randn(n_test, 2, generator=g)
    )  # minority points only: their recall
    return x[order], y[order], x_test


@grade(
    cell="test_class_balance",
    points=1,
    hint="inverse frequency: the rare class gets the large weight",
)
def test_weighting_raises_minority_recall(nb, seed):
    """Training with class_weights(y) raises the minority class's recall on a 9:1 problem."""
    # The judge trains the same linear classifier with and without the student's weights.
    # Theory (Bayes boundaries): at distance 2 the minority recall is about 0.46 unweighted and
    # 0.84 weighted; closer classes only widen the difference. Reference, 1,000 draws at the
    # least favourable distance 2.0: the rise had mean 0.385, sd 0.039, minimum 0.283. The
    # check asks for 0.1, 7.3 sd below the mean (normal tail ~1e-13). The recall itself is
    # measured on 2,000 fresh minority points (sd ~0.011, included in the spread above).
    # Uniform weights give a rise of exactly 0, frequency (not inverse) weights a drop.
    g = rng(seed)
    x, y, x_test = imbalanced_case(g)
    got = nb.call("weighted_training", x=x, y=y, x_test=x_test, seed=randint(g, 0, 2**31 - 1))
    plain = tensor(got["plain"], "predictions", shape=(len(x_test),))
    weighted = tensor(got["weighted"], "predictions", shape=(len(x_test),))
    recall_plain = (plain == 1).double().mean().item()
    recall_weighted = (weighted == 1).double().mean().item()
    expect(
        recall_weighted > recall_plain + 0.1,
        "training with nn.CrossEntropyLoss(weight=class_weights(y)) should raise the minority class's recall "
        "well above unweighted training on a 9:1 data set",
    )


# --- Exercise 10: mnist_model ---


@grade(
    cell="test_mnist",
    points=4,
    hint="train mnist_model on standardised, flattened images (load_mnist(..., normalize=True, "
    "flatten=True)) for a few epochs with Adam",
)
def test_mnist_accuracy(nb):
    """mnist_model classifies at least 96% of the hidden MNIST test images correctly."""
    # hidden_test_accuracy sends the hidden test images (a random subset, slightly perturbed
    # per grading run); the reference reaches about 97.5%, well above the 96% asked for.
    acc = hidden_test_accuracy(nb, "mnist_predictions", "mnist_model's predicted digits")
    expect(
        acc >= 0.96,
        f"mnist_model classifies {acc:.2%} of the hidden test images correctly; at least 96% is needed",
    )
