"""Hidden graders for Module 4 — deep networks.

Every input is drawn at run time from the ``seed`` fixture; expected values are computed
here, in float64, from the inputs and from the parameters the student's code reports.

Statistical checks (initializers, dropout, the He-vs-uniform depth test) are sized so that a
correct solution fails one of them with probability below 1e-7 per check, and well below 1e-6
for a whole grading run (fewer than 15 such checks), while the plausible wrong solutions named
next to each check are rejected with overwhelming probability.
"""

import math
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.checks import close, expect, grade, hidden_test_accuracy, number, randint, rng, tensor

DELTA = 1e-8  # failure probability allowed for one Hoeffding / Gaussian-tail check
ALPHA_KS = 1e-7  # failure probability allowed for one Kolmogorov-Smirnov (DKW) check
ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


def uniform(g, low, high):
    return low + (high - low) * float(torch.rand(1, generator=g))


# --- Exercise 1: DeepNet ---


def _sizes(g, min_layers=1, max_layers=5):
    return [randint(g, 2, 40) for _ in range(randint(g, min_layers, max_layers) + 1)]


def _expected_kinds(sizes, batch_norm, p, activation_modules=True):
    """The modules a forward pass runs, in order; activations only where they are modules."""
    hidden = (
        ["Linear"]
        + ["BatchNorm1d"] * bool(batch_norm)
        + ["activation"] * activation_modules
        + ["Dropout"] * (p > 0)
    )
    return hidden * (len(sizes) - 2) + ["Linear"]


def _deep_net(nb, g, seed, sizes, activation="relu", dropout=0.0, batch_norm=False, warmup=0):
    n = randint(g, 4, 32)
    x = torch.randn(n, sizes[0], generator=g)
    got = nb.call(
        "deep_net",
        sizes=sizes,
        activation=activation,
        dropout=dropout,
        batch_norm=batch_norm,
        x=x,
        warmup=warmup,
        seed=seed,
    )
    out = tensor(got["out"], "DeepNet's output", shape=(n, sizes[-1]))
    calls = got["calls"]
    expect(
        isinstance(calls, list) and all(isinstance(c, dict) and "kind" in c for c in calls),
        "DeepNet's layers could not be inspected",
    )
    return x, out, got


def _describe(sizes, dropout, batch_norm):
    return f"DeepNet({sizes}, dropout={dropout:g}, batch_norm={batch_norm})"


@grade(
    cell="test_deep_net",
    points=1,
    hint="append the layers to a Python list, then self.layers = nn.ModuleList(layers), and run them "
    "in forward",
)
def test_deepnet_structure(nb, seed):
    """DeepNet holds the layers it runs in an nn.ModuleList and has the right number of parameters."""
    g = rng(seed)
    for batch_norm, p in [
        (False, 0.0),
        (True, round(uniform(g, 0.1, 0.7), 3)),
        (bool(randint(g, 0, 1)), 0.0),
    ]:
        sizes = _sizes(g)
        _, _, got = _deep_net(nb, g, seed, sizes, dropout=p, batch_norm=batch_norm)
        expect("ModuleList" in got["modules"], "DeepNet should keep its layers in an nn.ModuleList")
        ran = got["calls"]
        expect(
            len([c for c in ran if c["kind"] == "Linear"]) == len(sizes) - 1
            and all(c["in_module_list"] for c in ran if c["kind"] != "activation"),
            f"{_describe(sizes, p, batch_norm)}'s forward pass should run its {len(sizes) - 1} Linear "
            "layers (and its BatchNorm1d and Dropout modules), held in its nn.ModuleList",
        )
        count = number(got["n_params"], "DeepNet's parameter count")
        expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) + (
            2 * sum(sizes[1:-1]) if batch_norm else 0
        )
        expect(
            count == expected,
            f"{_describe(sizes, p, batch_norm)} should have {expected} parameters, it has {count:g}",
        )


@grade(
    cell="test_deep_net",
    points=1,
    hint="each hidden layer: Linear, then BatchNorm1d (if batch_norm), then the activation, then "
    "Dropout (if dropout > 0); after the last Linear, nothing",
)
def test_deepnet_layer_order(nb, seed):
    """DeepNet runs Linear -> BatchNorm1d -> activation -> Dropout per hidden layer, the options as asked."""
    g = rng(seed)
    for batch_norm in (False, True):
        for p in (0.0, round(uniform(g, 0.1, 0.7), 3)):
            sizes = _sizes(g, min_layers=2)
            _, _, got = _deep_net(nb, g, seed, sizes, dropout=p, batch_norm=batch_norm)
            kinds = [c["kind"] for c in got["calls"]]
            # activation modules (nn.ReLU, ...) are checked in place; an activation applied as a
            # function leaves no trace here, and test_deepnet_forward checks where it acts
            expected = _expected_kinds(
                sizes, batch_norm, p, activation_modules="activation" in kinds
            )
            name = _describe(sizes, p, batch_norm)
            for kind in ("Linear", "BatchNorm1d", "Dropout"):
                expect(
                    kinds.count(kind) == expected.count(kind),
                    f"{name} should run {expected.count(kind)} {kind} module(s) in its forward pass, "
                    f"it runs {kinds.count(kind)}",
                )
            expect(
                kinds == expected,
                f"in {name} the modules do not run in the order Linear → BatchNorm1d → activation → "
                "Dropout for each hidden layer, with nothing after the last Linear",
            )
            expect(
                all(
                    abs(float(c.get("p", -1)) - p) < 1e-9
                    for c in got["calls"]
                    if c["kind"] == "Dropout"
                ),
                f"the Dropout modules of {name} should drop with probability {p:g}",
            )


@grade(
    cell="test_deep_net",
    points=2,
    hint="use nn.BatchNorm1d and nn.Dropout modules and the activation named by the argument; the "
    "output is the last Linear's, with no activation",
)
def test_deepnet_forward(nb, seed):
    """In eval mode DeepNet computes its layers' function (batch norm with running statistics) for each activation."""
    g = rng(seed)
    for activation, batch_norm in [
        ("relu", True),
        ("tanh", bool(randint(g, 0, 1))),
        ("sigmoid", True),
        ("relu", False),
    ]:
        sizes = _sizes(
            g, min_layers=2
        )  # at least one hidden layer, so that the order inside it shows
        p = round(uniform(g, 0.1, 0.5), 3) if randint(g, 0, 1) else 0.0
        x, out, got = _deep_net(
            nb, g, seed, sizes, activation=activation, dropout=p, batch_norm=batch_norm, warmup=2
        )
        name = f"{_describe(sizes, p, batch_norm)[:-1]}, activation={activation!r})"
        linears = [c for c in got["calls"] if c["kind"] == "Linear"]
        norms = [c for c in got["calls"] if c["kind"] == "BatchNorm1d"]
        expect(
            len(linears) == len(sizes) - 1 and len(norms) == (len(sizes) - 2) * batch_norm,
            f"{name} does not have the layers it should (see the layer order)",
        )
        h = x.double()
        for i, layer in enumerate(linears):
            weight = tensor(
                layer["weight"], "a Linear layer's weight", shape=(sizes[i + 1], sizes[i])
            ).double()
            bias = layer["bias"]
            h = h @ weight.T + (
                0 if bias is None else tensor(bias, "a Linear layer's bias").double()
            )
            if i == len(linears) - 1:
                break
            if batch_norm:
                bn = norms[i]
                stats = [
                    tensor(bn[k], f"a BatchNorm1d's {k}", shape=(sizes[i + 1],)).double()
                    for k in ("running_mean", "running_var", "weight", "bias")
                ]
                h = (h - stats[0]) / torch.sqrt(stats[1] + float(bn["eps"])) * stats[2] + stats[3]
            h = ACTIVATIONS[activation](h)
        expect(
            close(out, h, atol=1e-5, rtol=1e-4),
            f"in evaluation mode, {name} does not compute Linear → BatchNorm1d → activation (→ Dropout) "
            "for each hidden layer and a plain Linear at the end, with its own parameters",
        )


# --- Exercise 2: init_uniform_, init_xavier_, init_he_ ---


def _fans(g):
    """A large, clearly non-square layer: one fan in [200, 400], the other in [600, 1200].

    n = fan_in * fan_out >= 120,000 weights. The ratio of the fans is at least 1.5, so
    swapping fan_in and fan_out (He) changes the variance by a factor >= 1.5, and Xavier with
    fan_in alone (1 / fan_in) by a factor (fan_in + fan_out) / (2 fan_in), outside [0.84, 1.24].
    """
    small, large = randint(g, 200, 400), randint(g, 600, 1200)
    return (small, large) if randint(g, 0, 1) else (large, small)


def _initialized(nb, scheme, fan_in, fan_out, seed, a=0.0):
    got = nb.call("init_layer", scheme=scheme, fan_in=fan_in, fan_out=fan_out, a=a, seed=seed)
    name = {"uniform": "init_uniform_", "xavier": "init_xavier_", "he": "init_he_"}[scheme]
    expect(got["returned_layer"] is True, f"{name} should return the layer it initialized")
    expect(
        got["in_place"] is True,
        f"{name} should overwrite the layer's weight in place (under torch.no_grad()), "
        "not replace it with a new tensor",
    )
    weight = tensor(got["weight"], f"the weight after {name}", shape=(fan_out, fan_in))
    bias = tensor(got["bias"], f"the bias after {name}", shape=(fan_out,))
    expect(bool((bias == 0).all()), f"{name} should set the bias to 0")
    return weight.double().flatten(), name


def _ks_distance(sample, cdf):
    """sup_x |F_n(x) - F(x)| of the sample's empirical CDF against the target CDF."""
    x, _ = torch.sort(sample)
    n = x.numel()
    f = cdf(x)
    i = torch.arange(1, n + 1, dtype=torch.float64)
    return max((i / n - f).max().item(), (f - (i - 1) / n).max().item())


def _ks_critical(n):
    """Dvoretzky-Kiefer-Wolfowitz with Massart's constant: P(D_n > eps) <= 2 exp(-2 n eps^2),
    for every n and continuous F. eps = sqrt(ln(2 / alpha) / (2 n)) gives P <= alpha = 1e-7:
    about 0.0084 for n = 120,000 (float32 rounding moves the CDF by < 1e-6, negligible).
    Wrong shapes are far above it: a normal and a uniform of equal std are 0.05 apart in KS
    distance, and a 10% error in the std moves the CDF by > 0.02."""
    return math.sqrt(math.log(2 / ALPHA_KS) / (2 * n))


def _uniform_cdf(a):
    return lambda x: ((x + a) / (2 * a)).clamp(0, 1)


def _normal_cdf(std):
    return lambda x: 0.5 * (1 + torch.erf(x / (std * math.sqrt(2))))


def _check_uniform_moments(w, a, name, formula):
    """Mean and second moment of n iid U(-a, a) weights.

    Hoeffding for w in [-a, a]: P(|mean| >= t) <= 2 exp(-n t^2 / (2 a^2)), so with DELTA = 1e-8
    t = a sqrt(2 ln(2 / DELTA) / n) (about 0.018 a at n = 120,000). For w^2 in [0, a^2] with mean
    a^2 / 3: P(|mean(w^2) - a^2/3| >= t) <= 2 exp(-2 n t^2 / a^4), so the relative error of the
    second moment stays below r = 3 sqrt(ln(2 / DELTA) / (2 n)) (2.7% at n = 120,000, less for
    larger layers). The wrong-fan variants differ by 16% or more (see _fans)."""
    n = w.numel()
    expect(
        abs(w.mean().item()) <= a * math.sqrt(2 * math.log(2 / DELTA) / n),
        f"the weights after {name} should have mean 0",
    )
    r = 3 * math.sqrt(math.log(2 / DELTA) / (2 * n))
    expect(
        abs((w**2).mean().item() / (a * a / 3) - 1) <= r,
        f"the weights after {name} do not have standard deviation {formula} "
        "(remember: nn.Linear's weight has shape (fan_out, fan_in))",
    )


@grade(
    cell="test_initialization",
    points=1,
    hint="with torch.no_grad(): linear.weight.uniform_(-a, a); linear.bias.zero_(); return linear",
)
def test_init_uniform(nb, seed):
    """init_uniform_(linear, a) draws the weights from U(-a, a) in place, zeroes the bias, returns the layer."""
    g = rng(seed)
    fan_in, fan_out = _fans(g)
    a = uniform(g, 0.01, 1.0)
    w, name = _initialized(nb, "uniform", fan_in, fan_out, seed, a=a)
    expect(
        w.abs().max().item() <= a * (1 + 1e-6),
        f"the weights after {name}(linear, a) should lie in [-a, a]",
    )
    expect(
        _ks_distance(w, _uniform_cdf(a)) <= _ks_critical(w.numel()),
        f"the weights after {name}(linear, a) do not follow the uniform distribution on [-a, a]",
    )


@grade(
    cell="test_initialization",
    points=1,
    hint="the bound is a = sqrt(6 / (fan_in + fan_out)); fan_in = weight.shape[1], fan_out = weight.shape[0]",
)
def test_init_xavier_scale(nb, seed):
    """init_xavier_ gives weights with mean 0 and standard deviation sqrt(2 / (fan_in + fan_out))."""
    g = rng(seed)
    fan_in, fan_out = _fans(g)
    w, name = _initialized(nb, "xavier", fan_in, fan_out, seed)
    a = math.sqrt(6 / (fan_in + fan_out))
    _check_uniform_moments(w, a, name, "sqrt(2 / (fan_in + fan_out))")


@grade(cell="test_initialization", points=1, hint="Xavier here is the uniform form: U(-a, a)")
def test_init_xavier_distribution(nb, seed):
    """init_xavier_'s weights follow the uniform distribution with the Xavier standard deviation."""
    g = rng(seed)
    fan_in, fan_out = _fans(g)
    w, name = _initialized(nb, "xavier", fan_in, fan_out, seed)
    a = math.sqrt(6 / (fan_in + fan_out))
    # a normal with the Xavier std is 0.05 away in KS distance and exceeds a in 8% of the draws
    expect(
        _ks_distance(w, _uniform_cdf(a)) <= _ks_critical(w.numel()),
        f"the weights after {name} do not follow a uniform distribution with "
        "standard deviation sqrt(2 / (fan_in + fan_out))",
    )


@grade(
    cell="test_initialization",
    points=1,
    hint="std = sqrt(2 / fan_in), with fan_in = weight.shape[1]",
)
def test_init_he_scale(nb, seed):
    """init_he_ gives weights with mean 0 and standard deviation sqrt(2 / fan_in)."""
    g = rng(seed)
    fan_in, fan_out = _fans(g)
    w, name = _initialized(nb, "he", fan_in, fan_out, seed)
    std, n = math.sqrt(2 / fan_in), w.numel()
    # mean of n iid N(0, std^2) is N(0, std^2 / n): P(|mean| > 6 std / sqrt(n)) = 2e-9
    expect(
        abs(w.mean().item()) <= 6 * std / math.sqrt(n),
        f"the weights after {name} should have mean 0",
    )
    # n mean(w^2) / std^2 ~ chi-square(n). Laurent-Massart: P(X >= n + 2 sqrt(n x) + 2 x) <= e^-x and
    # P(X <= n - 2 sqrt(n x)) <= e^-x; with x = ln(2 / DELTA) (both tails together <= DELTA) the
    # relative band is about +-2.5% at n = 120,000. Using fan_out (ratio >= 1.5), forgetting the
    # square root or the 2 all miss it by 18% or more.
    x = math.log(2 / DELTA)
    ratio = (w**2).mean().item() / std**2
    expect(
        1 - 2 * math.sqrt(x / n) <= ratio <= 1 + 2 * math.sqrt(x / n) + 2 * x / n,
        f"the weights after {name} do not have standard deviation sqrt(2 / fan_in) "
        "(remember: nn.Linear's weight has shape (fan_out, fan_in))",
    )


@grade(
    cell="test_initialization", points=1, hint="He here is the normal form: weight.normal_(0, std)"
)
def test_init_he_distribution(nb, seed):
    """init_he_'s weights follow the normal distribution N(0, 2 / fan_in)."""
    g = rng(seed)
    fan_in, fan_out = _fans(g)
    w, name = _initialized(nb, "he", fan_in, fan_out, seed)
    # a uniform with the He std is 0.05 away in KS distance: far above the critical value
    expect(
        _ks_distance(w, _normal_cdf(math.sqrt(2 / fan_in))) <= _ks_critical(w.numel()),
        f"the weights after {name} do not follow a normal distribution with standard deviation sqrt(2 / fan_in)",
    )


@grade(
    cell="test_initialization",
    points=1,
    hint="compare init_he_ and init_uniform_(layer, 0.01) on a deep ReLU stack: the first keeps the scale",
)
def test_init_depth(nb, seed):
    """Through 10 ReLU layers init_he_ keeps the signal's scale and init_uniform_(layer, 0.01) kills it."""
    g = rng(seed)
    width, batch = randint(g, 768, 1024), randint(g, 256, 384)
    x = torch.randn(batch, width, generator=g)
    he = nb.call("init_depth", scheme="he", a=0.0, x=x, depth=10, seed=seed)
    expect(isinstance(he, list) and len(he) == 10, "the depth experiment could not be run")
    he = [number(s, "a layer's std") for s in he]
    # With He init every pre-activation has variance 2 Var(x) in expectation; what moves it is
    # the finite width: log(std) does a random walk across the layers. Simulated at the smallest
    # size drawn here (width 768, batch 256, 1,500 seeds), log(std_10 / std_1) has a standard
    # deviation of 0.089 (about 2.4 / sqrt(width): the same constant at widths 256, 512 and 768),
    # and the largest max/min seen was 1.39. A factor 2 (log 2 = 0.69) is 7.8 standard deviations
    # of any difference log std_j - log std_k; a union bound over the 45 pairs with Gaussian tails
    # puts a correct init_he_ failing here below 1e-12.
    expect(
        min(he) > 0 and max(he) / min(he) <= 2,
        "with init_he_, the std of the pre-activations of a 10-layer ReLU network should stay "
        "within a factor of 2 across depth",
    )
    small = nb.call("init_depth", scheme="uniform", a=0.01, x=x, depth=10, seed=seed)
    expect(isinstance(small, list) and len(small) == 10, "the depth experiment could not be run")
    small = [number(s, "a layer's std", finite=False) for s in small]
    # U(-0.01, 0.01) multiplies the variance by width * 1e-4 / 6 <= 0.018 per ReLU layer:
    # after 9 layers the std is below 1e-7 of the first one (threshold 1e-3).
    expect(
        small[0] > 0 and small[-1] <= 1e-3 * small[0],
        "with init_uniform_(layer, 0.01), the signal in a 10-layer ReLU network should collapse",
    )


# --- Exercise 3: activation_stds ---


def _std_list(stds, count):
    """activation_stds' answer as a list of floats, one per nn.Linear."""
    if type(stds) is torch.Tensor:
        stds = stds.flatten().tolist()
    expect(isinstance(stds, list), "activation_stds should return a list of numbers")
    stds = [number(s, "a value returned by activation_stds") for s in stds]
    expect(
        len(stds) == count,
        f"activation_stds should return one value per nn.Linear ({count} for this model), "
        f"it returned {len(stds)}",
    )
    return stds


def _activation_stds(nb, g, seed, style, activation):
    sizes = [randint(g, 5, 60) for _ in range(randint(g, 3, 7))]
    x = torch.randn(randint(g, 200, 400), sizes[0], generator=g) * uniform(g, 0.5, 2)
    got = nb.call("activation_stds", style=style, sizes=sizes, x=x, seed=seed)
    stds = _std_list(got["stds"], len(sizes) - 1)
    h, expected = x.double(), []
    for weight, bias in zip(got["weights"], got["biases"]):
        z = h @ weight.double().T + bias.double()
        expected.append(z.std().item())
        h = activation(z)
    # >= 1000 entries per layer: biased or unbiased std differ by < 5e-4 relative
    ok = all(abs(s - e) <= 2e-3 * e + 1e-7 for s, e in zip(stds, expected))
    return ok, got


@grade(
    cell="test_activation_stds",
    points=1,
    hint="a forward hook on every nn.Linear appends output.std().item(): the list is then in the order "
    "the layers run, whatever order the model registered them in",
)
def test_activation_stds_values(nb, seed):
    """activation_stds gives each Linear output's std in the order the layers run, for any model."""
    g = rng(seed)
    ok, _ = _activation_stds(nb, g, seed, "sequential", torch.relu)
    expect(
        ok,
        "activation_stds should give, for each nn.Linear in the order they run, "
        "the std of that layer's output",
    )
    ok, _ = _activation_stds(nb, g, seed, "functional", torch.tanh)
    expect(
        ok,
        "activation_stds should work for any model, including ones that apply their activation "
        "functions without modules and register their layers in another order than they run",
    )


@grade(
    cell="test_activation_stds",
    points=1,
    hint="do not call model.eval() or model.train() inside, and remove every hook (handle.remove())",
)
def test_activation_stds_leaves_model_unchanged(nb, seed):
    """activation_stds runs the model in its own train/eval mode and leaves no hooks and no mode change."""
    # Linear -> BatchNorm1d -> ReLU blocks: in training mode batch norm uses the batch's
    # statistics, in eval mode the running ones the judge sets (means 1-3 away from the batch's),
    # so running the model in the other mode changes the stds by far more than the tolerance.
    g = rng(seed)
    for training in random.Random(seed).sample([True, False], 2):
        sizes = [randint(g, 5, 40) for _ in range(randint(g, 3, 5))]
        x = torch.randn(randint(g, 200, 400), sizes[0], generator=g)
        running = [
            (torch.randn(n, generator=g) * 2, torch.rand(n, generator=g) * 3 + 0.5)
            for n in sizes[1:-1]
        ]
        got = nb.call(
            "activation_stds_mode", sizes=sizes, x=x, training=training, running=running, seed=seed
        )
        stds = _std_list(got["stds"], len(sizes) - 1)
        h, expected = x.double(), []
        for k, (weight, bias) in enumerate(zip(got["weights"], got["biases"])):
            z = h @ weight.double().T + bias.double()
            expected.append(z.std().item())
            if k < len(running):
                mean, var = (
                    (z.mean(0), z.var(0, unbiased=False))
                    if training
                    else (running[k][0].double(), running[k][1].double())
                )
                h = torch.relu((z - mean) / torch.sqrt(var + 1e-5))
        mode = "training" if training else "evaluation"
        expect(
            all(m == training for m in got["modes"]),
            f"activation_stds should leave a model in {mode} mode as it was (no model.eval() or model.train())",
        )
        expect(
            all(abs(s - e) <= 2e-3 * e + 1e-7 for s, e in zip(stds, expected)),
            f"activation_stds should run a model in {mode} mode as it is, and give each Linear output's std",
        )
        expect(got["hooks_left"] == 0, "activation_stds should remove every hook it registers")


# --- Exercise 4: gradient_norms ---

FUNCTIONS = {"relu": torch.relu, "tanh": torch.tanh}


def _mlp_weights(g, sizes, scale_last=1.0):
    """PyTorch's default nn.Linear draw U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases,
    made by the judge; the last layer's weight scaled by `scale_last`."""
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / math.sqrt(fan_in)
        weights.append((torch.rand(fan_out, fan_in, generator=g) * 2 - 1) * bound)
        biases.append((torch.rand(fan_out, generator=g) * 2 - 1) * bound)
    weights[-1] = weights[-1] * scale_last
    return weights, biases


def _mlp_forward(weights, biases, x, activation, running=None, training=True, softmax_dim=None):
    """The judge's probes._Mlp in float64: Linear, [batch norm], activation per hidden layer."""
    h = x.double()
    for k, (weight, bias) in enumerate(zip(weights, biases)):
        h = h @ weight.double().T + bias.double()
        if k < len(weights) - 1:
            if running is not None:
                mean, var = (
                    (h.mean(0), h.var(0, unbiased=False))
                    if training
                    else (running[k][0].double(), running[k][1].double())
                )
                h = (h - mean) / torch.sqrt(var + 1e-5)
            if activation is not None:
                h = FUNCTIONS[activation](h)
    return h if softmax_dim is None else torch.softmax(h, dim=softmax_dim)


def _reference_norms(weights, biases, x, y, activation, running=None, training=True):
    """Norms of d cross_entropy / d weight, by autograd in float64."""
    leaves = [w.double().requires_grad_(True) for w in weights]
    loss = F.cross_entropy(_mlp_forward(leaves, biases, x, activation, running, training), y)
    return [g.norm().item() for g in torch.autograd.grad(loss, leaves)]


def _float_list(value, count, what):
    """A probe's answer as a list of `count` floats."""
    expect(isinstance(value, list), f"{what} should return a list of numbers")
    values = [number(v, f"a value returned by {what}") for v in value]
    expect(
        len(values) == count,
        f"{what} should return one value per nn.Linear ({count} for this model), it returned "
        f"{len(values)}",
    )
    return values


def _norms_agree(got, expected):
    # float32 forward and backward against float64: relative errors below 1e-5 for these sizes
    return all(abs(a - b) <= 1e-6 + 1e-3 * b for a, b in zip(got, expected))


def _gradient_problem(g, running=False):
    """Widths that differ from layer to layer (so the order shows), inputs, labels, stale grads."""
    sizes = [randint(g, 5, 40) for _ in range(randint(g, 3, 6))]
    weights, biases = _mlp_weights(g, sizes)
    n = randint(g, 20, 60)
    x = torch.randn(n, sizes[0], generator=g) * uniform(g, 0.5, 2)
    y = torch.randint(0, sizes[-1], (n,), generator=g)
    stats = None
    if running:
        stats = [
            (torch.randn(m, generator=g), torch.rand(m, generator=g) * 2 + 0.5) for m in sizes[1:-1]
        ]
    # one stale gradient per parameter, in probes._Mlp's order: Linear layers, then batch norms
    shapes = [t.shape for pair in zip(weights, biases) for t in pair]
    shapes += [(m,) for m in sizes[1:-1] for _ in range(2)] if running else []
    stale = [torch.randn(s, generator=g) for s in shapes]
    return sizes, weights, biases, x, y, stats, stale


@grade(
    cell="test_gradient_norms",
    points=1,
    hint="loss = F.cross_entropy(model(x), y); torch.autograd.grad(loss, weights) gives the weight "
    "gradients (not the biases'), without adding old .grad to them",
)
def test_gradient_norms_values(nb, seed):
    """gradient_norms gives the norm of each Linear weight's gradient, first layer to last, ignoring old .grad."""
    g = rng(seed)
    for activation in random.Random(seed).sample(["relu", "tanh"], 2):
        sizes, weights, biases, x, y, _, stale = _gradient_problem(g)
        got = nb.call(
            "gradient_norms",
            weights=weights,
            biases=biases,
            activation=activation,
            x=x,
            y=y,
            stale=stale,
        )
        norms = _float_list(got["norms"], len(weights), "gradient_norms")
        expect(
            _norms_agree(norms, _reference_norms(weights, biases, x, y, activation)),
            f"for a {len(weights)}-layer {activation} network (widths {sizes}) that still holds "
            "gradients from an earlier step, gradient_norms should give, first layer to last, the "
            "L2 norm of the gradient of the cross-entropy with respect to each Linear's weight",
        )


@grade(
    cell="test_gradient_norms",
    points=1,
    hint="do not call model.train() / model.eval(), zero_grad() or backward() on the model's .grad: "
    "torch.autograd.grad leaves .grad and the parameters alone",
)
def test_gradient_norms_no_side_effects(nb, seed):
    """gradient_norms runs the model in its own mode and leaves its parameters, .grad and mode as they were."""
    # Linear -> BatchNorm1d -> activation blocks: batch statistics in training mode, the judge's
    # running statistics (means about 1 away from the batch's) in eval mode, so the norms
    # differ between the modes by far more than the tolerance.
    g = rng(seed)
    for training in random.Random(seed).sample([True, False], 2):
        sizes, weights, biases, x, y, stats, stale = _gradient_problem(g, running=True)
        got = nb.call(
            "gradient_norms",
            weights=weights,
            biases=biases,
            activation="relu",
            x=x,
            y=y,
            stale=stale,
            running=stats,
            training=training,
        )
        mode = "training" if training else "evaluation"
        norms = _float_list(got["norms"], len(weights), "gradient_norms")
        expect(
            all(m == training for m in got["modes"]),
            f"gradient_norms should leave a model in {mode} mode as it was",
        )
        expect(
            _norms_agree(norms, _reference_norms(weights, biases, x, y, "relu", stats, training)),
            f"gradient_norms should run a model with batch norm in {mode} mode as it is",
        )
        params = [t for pair in zip(weights, biases) for t in pair]
        expect(
            all(
                type(p) is torch.Tensor and torch.equal(p, q)
                for p, q in zip(got["params_after"], params)
            ),
            "gradient_norms should not change the model's parameters",
        )
        expect(
            len(got["grads_after"]) == len(stale)
            and all(
                type(a) is torch.Tensor and torch.equal(a, b)
                for a, b in zip(got["grads_after"], stale)
            ),
            "gradient_norms should leave every parameter's .grad as it was (torch.autograd.grad "
            "computes gradients without touching .grad)",
        )


@grade(
    cell="test_gradient_norms",
    points=1,
    hint="the same function, applied to a deep ReLU network: each Linear weight's gradient norm",
)
def test_gradient_norms_he_vs_small_uniform(nb, seed):
    """Through 10 ReLU layers gradient_norms shows He's gradients alive at every layer and small uniform's vanished."""
    g = rng(seed)
    sizes = [randint(g, 20, 60)] + [randint(g, 64, 128)] * 9 + [randint(g, 3, 10)]
    n = randint(g, 64, 128)
    x = torch.randn(n, sizes[0], generator=g)
    y = torch.randint(0, sizes[-1], (n,), generator=g)
    he = nb.call("gradient_norms_depth", scheme="he", sizes=sizes, x=x, y=y, seed=seed)
    he = _float_list(he, 10, "gradient_norms")
    # Simulated over 1,000 draws of these sizes: log10(max / min) of He's ten norms has mean
    # 0.65, standard deviation 0.19 and maximum 1.19. The bound 3 (a factor 1,000) is 12
    # standard deviations above the mean: a correct gradient_norms fails it far below 1e-9.
    expect(
        min(he) > 0 and max(he) / min(he) <= 1e3,
        "with He initialization, the gradient norms of a 10-layer ReLU network should stay within a "
        "factor of 1,000 of each other across the layers",
    )
    small = nb.call("gradient_norms_depth", scheme="uniform", sizes=sizes, x=x, y=y, seed=seed)
    small = _float_list(small, 10, "gradient_norms")
    # U(-0.01, 0.01) shrinks the signal by about 0.03 per layer forward and backward: the ratio
    # to He's norm at the same layer was at most 1.2e-12 over the 1,000 draws (bound 1e-6).
    expect(
        all(0 <= s <= 1e-6 * h for s, h in zip(small, he)),
        "with U(-0.01, 0.01) weights, every layer's gradient norm in a 10-layer ReLU network should "
        "be many orders of magnitude below He's",
    )


# --- Exercise 5: dropout ---


def _signed(g, shape):
    """Values with |x| in [0.5, 1.5) and random signs: never 0, so every 0 is a dropped entry."""
    return (torch.rand(shape, generator=g) + 0.5) * (
        torch.randint(0, 2, shape, generator=g) * 2 - 1
    )


def _hoeffding(count):
    """Deviation t of a mean of `count` independent indicators: P(|mean - p| >= t) <= DELTA."""
    return math.sqrt(math.log(2 / DELTA) / (2 * count))


@grade(
    cell="test_dropout",
    points=1,
    hint="keep = torch.rand_like(x) >= p: one fresh random number per entry, made on x's device",
)
def test_dropout_fraction(nb, seed):
    """In training, dropout zeroes a fraction p of the entries, independently, with a mask on x's device."""
    g = rng(seed)
    rows, cols = 2 * randint(g, 125, 250), 2 * randint(g, 200, 400)  # n >= 100,000 entries
    # p away from 0.5, so that using p as the keep probability (fraction 1 - p, at least 0.2
    # away) is caught; Hoeffding tolerance at n = 100,000 is 0.0098.
    p = round(uniform(g, 0.1, 0.4) if randint(g, 0, 1) else uniform(g, 0.6, 0.9), 4)
    x = _signed(g, (rows, cols))
    got = nb.call("dropout_twice", x=x, p=p, seed=seed)
    expect(isinstance(got, (list, tuple)) and len(got) == 2, "dropout could not be called")
    first, second = (tensor(y, "dropout's output", shape=(rows, cols)) for y in got)
    n = rows * cols
    for y in (first, second):
        fraction = (y == 0).double().mean().item()
        expect(
            abs(fraction - p) <= _hoeffding(n),
            f"in training, dropout(x, p={p:g}) should zero a fraction p of the entries",
        )
    # Independence: P(both zero) = p^2 for two different entries, two rows, two calls. A mask
    # shared across the batch, across units, or repeated between calls gives p instead, at
    # least p (1 - p) >= 0.09 away (tolerances 0.014 for n / 2 pairs).
    zero = first == 0
    pairs = [
        (zero[0::2], zero[1::2], "every example (row) should get its own random mask"),
        (zero[:, 0::2], zero[:, 1::2], "every unit (column) should be dropped independently"),
        (zero, second == 0, "each call of dropout should draw a new random mask"),
    ]
    for a, b, message in pairs:
        both = (a & b).double().mean().item()
        expect(abs(both - p * p) <= _hoeffding(a.numel()), message)
    # An input on the "meta" device (shapes and dtypes only): a mask made on the CPU cannot
    # combine with it, as a CPU mask cannot with an input on a GPU.
    on_meta = nb.call("dropout_device", shape=[randint(g, 2, 9), randint(g, 2, 9)], p=p)
    expect(
        on_meta["device"] == "meta",
        "dropout should make its mask on x's device (torch.rand_like(x)), "
        "so that it works for inputs on a GPU",
    )


@grade(
    cell="test_dropout",
    points=1,
    hint="return x * keep / (1 - p), a new tensor: do not change x in place",
)
def test_dropout_rescales_survivors(nb, seed):
    """In training (the default), dropout divides the kept entries by 1 - p and leaves x unchanged."""
    g = rng(seed)
    shapes = [
        (randint(g, 1000, 3000),),
        (randint(g, 30, 60), randint(g, 30, 60)),
        (randint(g, 5, 10), randint(g, 10, 20), randint(g, 10, 20)),
    ]
    xs = [_signed(g, s) for s in shapes]
    ps = [round(uniform(g, 0.05, 0.95), 4) for _ in shapes]
    got = nb.call("dropout_calls", xs=xs, ps=ps, training=True, seed=seed)
    expect(
        isinstance(got["out"], list) and len(got["out"]) == len(xs), "dropout could not be called"
    )
    for x, p, y, after in zip(xs, ps, got["out"], got["inputs_after"]):
        expect(torch.equal(after, x), f"dropout(x, p={p:g}) should not modify x in place")
        y = tensor(y, "dropout's output", shape=x.shape).double()
        kept = y != 0
        # each shape has >= 1000 entries: P(all kept or all dropped) <= 0.95^1000 < 1e-22
        expect(
            bool(kept.any()) and not bool(kept.all()),
            f"dropout(x, p={p:g}) should drop some entries, not all",
        )
        expected = x.double()[kept] / (1 - p)
        expect(
            close(y[kept], expected, atol=1e-6, rtol=1e-5),
            f"in training, the entries dropout(x, p={p:g}) keeps should be divided by 1 - p",
        )


@grade(cell="test_dropout", points=1, hint="if not training: return x")
def test_dropout_eval_is_identity(nb, seed):
    """With training=False, dropout returns x unchanged."""
    g = rng(seed)
    shapes = [
        (randint(g, 1, 50), randint(g, 1, 50)),
        (randint(g, 1, 500),),
        (randint(g, 1, 9),) * 3,
    ]
    xs = [torch.randn(s, generator=g) for s in shapes]
    ps = [round(uniform(g, 0.05, 0.95), 4) for _ in shapes]
    got = nb.call("dropout_calls", xs=xs, ps=ps, training=False, seed=seed)
    expect(
        isinstance(got["out"], list) and len(got["out"]) == len(xs), "dropout could not be called"
    )
    for x, p, y in zip(xs, ps, got["out"]):
        y = tensor(y, "dropout's output", shape=x.shape)
        expect(
            torch.equal(y, x), f"with training=False, dropout(x, p={p:g}) should return x unchanged"
        )


# --- Exercise 6: BatchNorm1d ---


def _bn_config(g, custom):
    """Features with means in [-2, 2] and stds in [0.5, 2]; a batch of 4 to 32 examples.

    With at most 32 examples per batch, N / (N - 1) >= 1.03: normalizing with the unbiased
    variance, or keeping the biased one in running_var, is off by far more than the tolerance.
    """
    c = randint(g, 1, 32)
    kwargs = (
        {"eps": round(uniform(g, 1e-3, 0.3), 5), "momentum": round(uniform(g, 0.1, 0.6), 4)}
        if custom
        else {}
    )
    weight = torch.rand(c, generator=g) * 2 + 0.5
    bias = torch.randn(c, generator=g)
    return c, kwargs, weight, bias


def _bn_batch(g, c, mean, scale):
    return mean + scale * torch.randn(randint(g, 4, 32), c, generator=g)


def _reference_bn(c, kwargs, weight, bias):
    ref = nn.BatchNorm1d(c, **kwargs).double()
    with torch.no_grad():
        ref.weight.copy_(weight.double())
        ref.bias.copy_(bias.double())
    return ref


def _bn_training_runs(nb, g):
    """Both configurations (defaults, custom eps and momentum): the student's steps and nn.BatchNorm1d's."""
    for custom in (False, True):
        c, kwargs, weight, bias = _bn_config(g, custom)
        mean, scale = torch.rand(c, generator=g) * 4 - 2, torch.rand(c, generator=g) * 1.5 + 0.5
        batches = [_bn_batch(g, c, mean, scale) for _ in range(randint(g, 3, 5))]
        directions = [torch.randn(xb.shape, generator=g) for xb in batches]
        got = nb.call(
            "batch_norm_train",
            num_features=c,
            kwargs=kwargs,
            weight=weight,
            bias=bias,
            batches=batches,
            directions=directions,
        )
        expect(isinstance(got, list) and len(got) == len(batches), "BatchNorm1d could not be run")
        ref = _reference_bn(c, kwargs, weight, bias)
        ref.train()
        steps = []
        for xb, direction, step in zip(batches, directions, got):
            x64 = xb.double().requires_grad_(True)
            expected = ref(x64)
            ref.zero_grad()
            (expected * direction.double()).sum().backward()
            grads = {
                "grad_x": x64.grad,
                "grad_weight": ref.weight.grad.clone(),
                "grad_bias": ref.bias.grad.clone(),
            }
            steps.append(
                (
                    xb,
                    step,
                    expected.detach(),
                    ref.running_mean.clone(),
                    ref.running_var.clone(),
                    grads,
                )
            )
        yield (f"BatchNorm1d({c}" + "".join(f", {k}={v:g}" for k, v in kwargs.items()) + ")"), steps


@grade(
    cell="test_batch_norm",
    points=1,
    hint="nn.Parameter(torch.ones(C)) and nn.Parameter(torch.zeros(C)); "
    'self.register_buffer("running_mean", torch.zeros(C)) and running_var ones',
)
def test_bn_parameters_and_buffers(nb, seed):
    """BatchNorm1d has parameters weight (ones) and bias (zeros) and buffers running_mean (0) and running_var (1)."""
    g = rng(seed)
    c = randint(g, 1, 64)
    got = nb.call("batch_norm_state", num_features=c)
    params, buffers = got["parameters"], got["buffers"]
    expect(
        sorted(params) == ["bias", "weight"],
        "BatchNorm1d should have exactly two parameters, named weight and bias",
    )
    expect(
        bool((tensor(params["weight"], "weight", shape=(c,)) == 1).all()),
        "weight should start at 1",
    )
    expect(bool((tensor(params["bias"], "bias", shape=(c,)) == 0).all()), "bias should start at 0")
    expect(
        "running_mean" in buffers and "running_var" in buffers,
        "running_mean and running_var should be registered as buffers (register_buffer)",
    )
    expect(
        bool((tensor(buffers["running_mean"], "running_mean", shape=(c,)) == 0).all()),
        "running_mean should start at 0",
    )
    expect(
        bool((tensor(buffers["running_var"], "running_var", shape=(c,)) == 1).all()),
        "running_var should start at 1",
    )


@grade(
    cell="test_batch_norm",
    points=1,
    hint="normalize with x.mean(0) and the biased variance, computed by hand (no F.batch_norm), and keep "
    "them in the autograd graph: the gradient flows through the mean and the variance too",
)
def test_bn_training_outputs(nb, seed):
    """In training mode BatchNorm1d's output and its gradients equal nn.BatchNorm1d's, without PyTorch's batch norm."""
    g = rng(seed)
    for name, steps in _bn_training_runs(nb, g):
        for k, (xb, step, expected, _, _, grads) in enumerate(steps, start=1):
            out = tensor(step["out"], f"{name}'s output", shape=xb.shape)
            expect(
                close(out, expected, atol=1e-5, rtol=1e-4),
                f"in training mode, {name}'s output differs from nn.BatchNorm1d's (step {k}): normalize "
                "each feature with the batch mean and the biased batch variance, then scale and shift",
            )
            for key, what in (
                ("grad_x", "input"),
                ("grad_weight", "weight"),
                ("grad_bias", "bias"),
            ):
                got = tensor(step[key], f"the gradient of {name}'s {what}", shape=grads[key].shape)
                expect(
                    close(got, grads[key], atol=1e-4, rtol=1e-3),
                    f"in training mode, the gradient with respect to {name}'s {what} differs from "
                    "nn.BatchNorm1d's: the batch mean and variance must stay in the autograd graph",
                )


@grade(
    cell="test_batch_norm",
    points=1,
    hint="under torch.no_grad(): running = (1 - momentum) * running + momentum * batch statistic, with "
    "the unbiased variance (N / (N - 1)) for running_var",
)
def test_bn_running_statistics(nb, seed):
    """In training mode BatchNorm1d updates running_mean and running_var exactly like nn.BatchNorm1d."""
    g = rng(seed)
    for name, steps in _bn_training_runs(nb, g):
        for k, (xb, step, _, mean, var, _) in enumerate(steps, start=1):
            c = xb.shape[1]
            got_mean = tensor(step["running_mean"], f"{name}'s running_mean", shape=(c,))
            got_var = tensor(step["running_var"], f"{name}'s running_var", shape=(c,))
            expect(
                close(got_mean, mean, atol=1e-5, rtol=1e-4),
                f"after training step {k}, {name}'s running_mean differs from nn.BatchNorm1d's",
            )
            expect(
                close(got_var, var, atol=1e-5, rtol=1e-4),
                f"after training step {k}, {name}'s running_var differs from nn.BatchNorm1d's "
                "(it uses the unbiased batch variance and momentum as the weight of the new batch)",
            )


@grade(
    cell="test_batch_norm",
    points=1,
    hint="in eval mode (not self.training) use running_mean and running_var, and leave them unchanged",
)
def test_bn_eval(nb, seed):
    """In eval mode BatchNorm1d normalizes with its running statistics and eps and does not change them."""
    g = rng(seed)
    for custom in (False, True):
        c, kwargs, weight, bias = _bn_config(g, custom)
        running_mean = torch.rand(c, generator=g) * 4 - 2
        running_var = torch.rand(c, generator=g) * 3 + 0.2
        x = _bn_batch(g, c, running_mean, running_var.sqrt())
        x = x[: randint(g, 1, len(x))]  # evaluation works for any batch size, even 1
        got = nb.call(
            "batch_norm_eval",
            num_features=c,
            kwargs=kwargs,
            weight=weight,
            bias=bias,
            running_mean=running_mean,
            running_var=running_var,
            x=x,
        )
        ref = _reference_bn(c, kwargs, weight, bias)
        with torch.no_grad():
            ref.running_mean.copy_(running_mean.double())
            ref.running_var.copy_(running_var.double())
            ref.eval()
            expected = ref(x.double())
        name = (
            "BatchNorm1d(" + ", ".join([str(c)] + [f"{k}={v:g}" for k, v in kwargs.items()]) + ")"
        )
        out = tensor(got["out"], f"{name}'s output", shape=x.shape)
        expect(
            close(out, expected, atol=1e-5, rtol=1e-4),
            f"in evaluation mode, {name} should normalize with its running statistics (and eps)",
        )
        expect(
            torch.equal(tensor(got["running_mean"], "running_mean", shape=(c,)), running_mean)
            and torch.equal(tensor(got["running_var"], "running_var", shape=(c,)), running_var),
            "the running statistics should not change in evaluation mode",
        )


# --- Exercise 7: sgd_momentum_step and adam_step ---


def _problem(g):
    shapes = [
        tuple(randint(g, 1, 6) for _ in range(randint(g, 1, 3))) for _ in range(randint(g, 1, 4))
    ]
    values = [torch.randn(s, generator=g) for s in shapes]
    scale = uniform(g, 0.1, 2.0)
    grads = [[torch.randn(s, generator=g) * scale for s in shapes] for _ in range(5)]
    return values, grads


def _reference_run(values, grads, make_optimizer):
    params = [nn.Parameter(v.double().clone()) for v in values]
    optimizer = make_optimizer(params)
    for step_grads in grads:
        for p, grad in zip(params, step_grads):
            p.grad = grad.double().clone()
        optimizer.step()
    return [p.detach() for p in params]


def _compare(got, expected, name, reference):
    expect(
        isinstance(got["params"], list) and len(got["params"]) == len(expected),
        f"{name} lost parameters",
    )
    for mine, ref in zip(got["params"], expected):
        mine = tensor(mine, "an updated parameter", shape=ref.shape)
        expect(
            close(mine, ref, atol=1e-6, rtol=1e-6),
            f"after 5 steps, {name} differs from {reference}",
        )
    expect(
        all(got["leaf"]),
        f"after {name} the parameters should still be leaf tensors that require grad "
        "(update them in place under torch.no_grad())",
    )


@grade(
    cell="test_optimizers",
    points=2,
    hint="under torch.no_grad(): v.mul_(momentum).add_(p.grad); p.sub_(lr * v): keep v for the next call",
)
def test_sgd_momentum(nb, seed):
    """Five sgd_momentum_step calls equal torch.optim.SGD with momentum, updating the parameters in place."""
    g = rng(seed)
    for _ in range(2):
        values, grads = _problem(g)
        lr, momentum = uniform(g, 0.01, 0.1), uniform(g, 0.5, 0.95)
        got = nb.call("sgd_momentum", values=values, grads=grads, lr=lr, momentum=momentum)
        expected = _reference_run(
            values,
            grads,
            lambda ps, lr=lr, momentum=momentum: torch.optim.SGD(ps, lr=lr, momentum=momentum),
        )
        _compare(
            got,
            expected,
            "sgd_momentum_step",
            f"torch.optim.SGD(lr={lr:.3g}, momentum={momentum:.3g})",
        )


@grade(
    cell="test_optimizers",
    points=2,
    hint="bias-correct m and v with 1 - beta^t, and add eps to sqrt(v_hat), not inside the root",
)
def test_adam(nb, seed):
    """Five adam_step calls equal torch.optim.Adam (bias corrections, eps), updating the parameters in place."""
    g = rng(seed)
    # eps = 1e-8 (the default) and a large eps, which shows where eps enters the update
    for eps in (1e-8, uniform(g, 1e-3, 0.1)):
        values, grads = _problem(g)
        lr = uniform(g, 1e-3, 0.05)
        betas = (uniform(g, 0.8, 0.95), uniform(g, 0.9, 0.999))
        got = nb.call("adam", values=values, grads=grads, lr=lr, betas=list(betas), eps=eps)
        expected = _reference_run(
            values,
            grads,
            lambda ps, lr=lr, betas=betas, eps=eps: torch.optim.Adam(
                ps, lr=lr, betas=betas, eps=eps
            ),
        )
        _compare(
            got,
            expected,
            "adam_step",
            f"torch.optim.Adam(lr={lr:.3g}, betas=({betas[0]:.3g}, {betas[1]:.4g}), eps={eps:.3g})",
        )


# --- Exercise 8: initial_loss_ok, overfit_one_batch, find_nonfinite ---


def _uniform_label_loss(weights, biases, x, activation):
    """-mean over examples and classes of log_softmax: the loss initial_loss_ok compares."""
    return -F.log_softmax(_mlp_forward(weights, biases, x, activation), dim=1).mean().item()


def _classifier(g, n_min=16):
    sizes = [randint(g, 5, 40)] + [randint(g, 16, 48) for _ in range(randint(g, 1, 3))]
    sizes.append(randint(g, 3, 10))
    x = torch.randn(randint(g, n_min, 64), sizes[0], generator=g)
    return sizes, x


@grade(
    cell="test_debug_checks",
    points=1,
    hint="L = -F.log_softmax(model(x), dim=1).mean(); compare |L - math.log(K)| with tol * math.log(K) "
    "(natural logarithms) and return a bool",
)
def test_initial_loss_ok(nb, seed):
    """initial_loss_ok is True for an unsure start near ln K and False for an overconfident one, with the tol asked."""
    g = rng(seed)
    cases = []
    sizes, x = _classifier(g)
    k = sizes[-1]
    # an unsure start: the last layer's weights 100 times smaller, logits almost equal
    weights, biases = _mlp_weights(g, sizes, scale_last=0.01)
    biases[-1] = torch.zeros(k)
    cases.append((weights, biases, x, None, "a network whose logits start almost equal"))
    # an overconfident start: one class's bias 6 to 10, the loss 2 ln K or more above ln K
    weights, biases = _mlp_weights(g, sizes)
    biases[-1] = biases[-1].clone()
    biases[-1][randint(g, 0, k - 1)] = uniform(g, 6, 10)
    cases.append((weights, biases, x, None, "a network with a large bias on one class"))
    # the tol argument: a network with too large final weights, asked with a tol twice and half
    # its relative distance from ln K
    weights, biases = _mlp_weights(g, sizes, scale_last=uniform(g, 4, 8))
    for factor in random.Random(seed).sample([2.0, 0.5], 2):
        cases.append((weights, biases, x, factor, "a network with large final weights"))
    for weights, biases, x, factor, what in cases:
        activation = random.Random(seed + len(what)).choice(["relu", "tanh"])
        loss = _uniform_label_loss(weights, biases, x, activation)
        distance = abs(loss - math.log(k)) / math.log(k)
        tol = None if factor is None else factor * distance
        expected = distance <= (0.1 if tol is None else tol)
        # every case sits far from its boundary: float32 moves L by < 1e-5, the margins are > 1e-2
        training = bool(randint(g, 0, 1))
        got = nb.call(
            "initial_loss",
            weights=weights,
            biases=biases,
            activation=activation,
            x=x,
            num_classes=k,
            tol=tol,
            training=training,
        )
        expect(
            got["ok"] is True or got["ok"] is False,
            "initial_loss_ok should return a Python bool (True or False)",
        )
        asked = "" if tol is None else f" with tol={tol:.3g}"
        expect(
            got["ok"] is expected,
            f"initial_loss_ok{asked} should be {expected} for {what} ({k} classes): compare the "
            "loss averaged over all labels with ln K",
        )
        expect(
            all(m == training for m in got["modes"]), "initial_loss_ok should not change the mode"
        )


def _cross_entropy(weights, biases, x, y):
    return F.cross_entropy(_mlp_forward(weights, biases, x, "relu"), y).item()


@grade(
    cell="test_debug_checks",
    points=1,
    hint="optimizer = torch.optim.Adam(model.parameters(), lr=lr); model.train(); then each step: loss, "
    "zero_grad, backward, step, and keep loss.item()",
)
def test_overfit_one_batch(nb, seed):
    """overfit_one_batch drives a healthy MLP's loss on one batch near 0 and reports a frozen one's stall."""
    g = rng(seed)
    steps = 150
    for frozen in random.Random(seed).sample([False, True], 2):
        d, w, k = randint(g, 8, 30), randint(g, 32, 64), randint(g, 3, 6)
        sizes = [d, w, w, k]
        n = randint(g, 16, 32)
        x = torch.randn(n, d, generator=g)
        # labels with every class at least twice, so a model that ignores x has a loss of at
        # least the labels' entropy (above 0.5 for 3 or more classes) while a healthy one can
        # reach 0
        y = torch.cat(
            [torch.arange(k), torch.arange(k), torch.randint(0, k, (n - 2 * k,), generator=g)]
        )
        y = y[torch.randperm(n, generator=g)]
        weights, biases = _mlp_weights(g, sizes)
        if frozen:  # a first layer frozen at zero: the output does not depend on x
            weights[0] = torch.zeros_like(weights[0])
            biases[0] = torch.rand(w, generator=g)
        got = nb.call(
            "overfit", weights=weights, biases=biases, x=x, y=y, steps=steps, frozen=frozen
        )
        losses = _float_list(got["losses"], steps, "overfit_one_batch")
        start = _cross_entropy(weights, biases, x, y)
        expect(
            abs(losses[0] - start) <= 1e-5 + 1e-4 * start,
            "overfit_one_batch's first loss should be the cross-entropy before any update",
        )
        expect(got["training"] is True, "overfit_one_batch should put the model in training mode")
        after = [tensor(t, "a trained weight") for t in got["weights"]]
        final = _cross_entropy(after, got["biases"], x, y)
        if frozen:
            shares = torch.bincount(y, minlength=k).double() / n
            entropy = -(shares[shares > 0] * shares[shares > 0].log()).sum().item()
            expect(
                torch.equal(after[0], weights[0]),
                "overfit_one_batch should not change a layer that does not require gradients",
            )
            # the smallest loss a model with an x-independent output can reach is the entropy
            expect(
                final >= entropy - 1e-4 and losses[-1] >= entropy - 1e-4,
                "overfit_one_batch reports a loss below what this model can reach",
            )
        else:
            # simulated over 300 draws of these sizes: the final loss was at most 8e-4 after 100
            # steps (bound 0.05 after 150)
            expect(
                final <= 0.05 and losses[-1] <= 0.1,
                f"after {steps} steps of Adam(lr=0.01) on one batch, a healthy MLP's loss should be "
                "near 0: take a step of the optimizer after every backward pass",
            )


def _nonfinite_model(g):
    """Three Linear layers: six parameters, named in probes._Mlp as layers.<k>.weight / bias."""
    sizes = [randint(g, 3, 12) for _ in range(4)]
    weights, biases = _mlp_weights(g, sizes)
    n = randint(g, 4, 16)
    x = torch.randn(n, sizes[0], generator=g)
    y = torch.randint(0, sizes[-1], (n,), generator=g)
    shapes = [t.shape for pair in zip(weights, biases) for t in pair]
    return weights, biases, x, y, shapes


def _planted(g, shapes, indices):
    """One NaN, +Inf or -Inf at a random entry of each named parameter."""
    bad = [math.nan, math.inf, -math.inf]
    return [[i, randint(g, 0, math.prod(shapes[i]) - 1), bad[randint(g, 0, 2)]] for i in indices]


def _find_nonfinite(nb, g, frozen=(), values=(), grads=(), loss_value=0.0, pass_loss=True):
    weights, biases, x, y, shapes = _nonfinite_model(g)
    plan = {}
    for kind, indices in (("values", values), ("grads", grads)):
        plan[kind] = _planted(g, shapes, list(indices))
    got = nb.call(
        "find_nonfinite",
        weights=weights,
        biases=biases,
        x=x,
        y=y,
        frozen=list(frozen),
        values=plan["values"],
        grads=plan["grads"],
        loss_value=loss_value,
        pass_loss=pass_loss,
    )
    answer = got["answer"]
    expect(answer is None or isinstance(answer, str), "find_nonfinite should return a name or None")
    return answer, got["names"], plan


@grade(
    cell="test_debug_checks",
    points=1,
    hint="first every parameter's value (torch.isfinite(p).all()), in named_parameters() order; then "
    'the loss ("loss"); None when everything is finite',
)
def test_find_nonfinite_values_and_loss(nb, seed):
    """find_nonfinite names the first non-finite parameter, else "loss" if the loss is not finite, else None."""
    g = rng(seed)
    answer, _, _ = _find_nonfinite(nb, g)
    expect(answer is None, "find_nonfinite should return None when everything is finite")
    first, second = sorted(random.Random(seed).sample(range(6), 2))
    answer, names, plan = _find_nonfinite(
        nb, g, values=[second, first], grads=[0], loss_value=math.nan
    )
    expect(
        answer == names[first],
        "with NaN or Inf in two parameters (and hence in the gradients and the loss), "
        "find_nonfinite should name the first parameter in named_parameters() order",
    )
    answer, names, plan = _find_nonfinite(nb, g, values=[randint(g, 0, 5)], pass_loss=False)
    expect(
        answer == names[plan["values"][0][0]],
        "find_nonfinite(model) without a loss should name the parameter that holds a NaN or Inf",
    )
    answer, _, _ = _find_nonfinite(
        nb, g, grads=[randint(g, 0, 5)], loss_value=random.Random(seed).choice([math.nan, math.inf])
    )
    expect(
        answer == "loss",
        'with finite parameters but a non-finite loss, find_nonfinite should answer "loss" '
        "(the loss is checked before the gradients)",
    )


@grade(
    cell="test_debug_checks",
    points=1,
    hint='then every .grad that is not None, in the same order: the name followed by ".grad"',
)
def test_find_nonfinite_gradients(nb, seed):
    """find_nonfinite names the first parameter whose gradient holds NaN or Inf, skipping frozen ones."""
    g = rng(seed)
    first, second = sorted(random.Random(seed).sample(range(1, 6), 2))
    answer, names, plan = _find_nonfinite(nb, g, frozen=[0], grads=[second, first])
    expect(
        answer == names[first] + ".grad",
        "with finite parameters and loss, find_nonfinite should name the first parameter whose "
        'gradient holds a NaN or Inf, followed by ".grad"',
    )
    answer, names, plan = _find_nonfinite(nb, g, grads=[randint(g, 0, 5)], pass_loss=False)
    expect(
        answer == names[plan["grads"][0][0]] + ".grad",
        "find_nonfinite(model) without a loss should still check the gradients",
    )
    answer, _, _ = _find_nonfinite(nb, g, frozen=[randint(g, 0, 5)])
    expect(
        answer is None,
        "find_nonfinite should return None when everything is finite (a frozen parameter has no .grad)",
    )


# --- Exercise 9: diagnose ---

BUGS = ("frozen_layer", "softmax_wrong_dim", "missing_activation", "bad_initial_loss")


def _affine_gap(weights, biases, x, activation):
    """diagnose's affinity measure of the judge's model, in float64."""
    half = len(x) // 2
    a, b = x[:half], x[half : 2 * half]
    f = lambda t: _mlp_forward(weights, biases, t, activation)  # noqa: E731
    gap = (f((a + b) / 2) - (f(a) + f(b)) / 2).abs().max()
    return (gap / (f(a) - f(b)).abs().max()).item()


def _diagnose_case(g, bug, activation):
    """A plain MLP with the given bug (or "ok"), far from every threshold diagnose uses."""
    while True:
        sizes = [randint(g, 8, 30)] + [randint(g, 16, 48)] * randint(g, 2, 4) + [randint(g, 3, 10)]
        x = torch.randn(2 * randint(g, 8, 32), sizes[0], generator=g)
        weights, biases = _mlp_weights(g, sizes, scale_last=0.1)
        biases[-1] = torch.zeros(sizes[-1])
        if bug == "bad_initial_loss":
            biases[-1][randint(g, 0, sizes[-1] - 1)] = uniform(g, 6, 10)
        # the judge's healthy networks are clearly not affine (simulated: gap >= 0.06 in 300
        # draws) and start within 0.05 ln K of ln K; redraw in the rare other case
        gap = _affine_gap(weights, biases, x, activation)
        distance = abs(
            _uniform_label_loss(weights, biases, x, activation) / math.log(sizes[-1]) - 1
        )
        if gap >= 0.01 and (distance >= 0.5 if bug == "bad_initial_loss" else distance <= 0.05):
            break
    return {
        "weights": weights,
        "biases": biases,
        "activation": None if bug == "missing_activation" else activation,
        "softmax_dim": 0 if bug == "softmax_wrong_dim" else None,
        "frozen": randint(g, 0, len(weights) - 1) if bug == "frozen_layer" else None,
        "x": x,
    }


def _diagnose(nb, g, bug, activation, training=True):
    case = _diagnose_case(g, bug, activation)
    got = nb.call("diagnose", **case, training=training)
    return got, case


@grade(
    cell="test_diagnose",
    points=2,
    hint="in this order: requires_grad; model(x[:1]) against model(x)[:1]; f((a + b) / 2) against "
    "(f(a) + f(b)) / 2; initial_loss_ok",
)
def test_diagnose_names_the_bug(nb, seed):
    """diagnose names the bug of MLPs with a frozen layer, a softmax over the batch, no activation or a large bias."""
    g = rng(seed)
    order = random.Random(seed)
    for bug in order.sample(BUGS, len(BUGS)):
        activation = order.choice(["relu", "tanh"])
        got, case = _diagnose(nb, g, bug, activation)
        expect(
            got["label"] == bug,
            f"diagnose should answer {bug!r} for a {len(case['weights'])}-layer MLP with that bug",
        )


@grade(
    cell="test_diagnose",
    points=1,
    hint='return "ok" only when no check finds a problem; run under torch.no_grad() and leave the mode',
)
def test_diagnose_healthy_is_ok(nb, seed):
    """diagnose answers "ok" for healthy MLPs and not for broken ones, and leaves the model unchanged."""
    g = rng(seed)
    order = random.Random(seed)
    for activation in order.sample(["relu", "tanh"], 2):
        training = order.choice([True, False])
        got, case = _diagnose(nb, g, "ok", activation, training)
        expect(got["label"] == "ok", f"diagnose should answer 'ok' for a healthy {activation} MLP")
        params = [t for pair in zip(case["weights"], case["biases"]) for t in pair]
        expect(
            all(torch.equal(p, q) for p, q in zip(got["params_after"], params))
            and all(m == training for m in got["modes"]),
            "diagnose should not change the model's parameters or its train/eval mode",
        )
        # the broken twin has a frozen layer, whose check is the simplest: which bugs diagnose
        # tells apart is test_diagnose_names_the_bug's concern, not this test's
        got, _ = _diagnose(nb, g, "frozen_layer", activation)
        expect(
            got["label"] != "ok",
            "diagnose should not answer 'ok' for an MLP with a layer that does not require gradients",
        )


# --- Exercise 10: mnist_model ---


@grade(
    cell="test_mnist_model",
    points=1,
    hint="mnist_model = DeepNet([784, ...], dropout=..., batch_norm=True)",
)
def test_mnist_model_is_deep_net_with_bn_and_dropout(nb, seed):
    """mnist_model is a DeepNet whose forward pass runs batch norm and dropout layers and returns 10 logits."""
    g = rng(seed)
    n = randint(g, 2, 16)
    got = nb.call("mnist_model_info", x=torch.randn(n, 784, generator=g))
    expect(got["class"] == "DeepNet", "mnist_model should be a DeepNet")
    expect(
        "BatchNorm1d" in got["ran"],
        "mnist_model should use batch normalization (batch_norm=True) in its forward pass",
    )
    expect(
        "Dropout" in got["ran"], "mnist_model should use dropout (dropout > 0) in its forward pass"
    )
    expect(got["out_shape"] == [n, 10], "mnist_model should map (N, 784) images to (N, 10) logits")


@grade(
    cell="test_mnist_model",
    points=3,
    hint="a DeepNet with batch norm and dropout, Adam, 3-4 epochs over the training split; check "
    "the validation accuracy in eval mode",
)
def test_mnist_accuracy(nb, seed):
    """mnist_model classifies at least 97.5% of the hidden MNIST test images correctly."""
    acc = hidden_test_accuracy(nb, "mnist_predictions", "mnist_model's predicted digits")
    expect(
        acc >= 0.975,
        f"mnist_model classifies {acc:.2%} of the hidden test images correctly "
        "(at least 97.5% needed)",
    )
