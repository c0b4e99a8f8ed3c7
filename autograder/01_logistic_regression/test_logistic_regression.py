"""Hidden graders for Module 1 — logistic regression, cross-entropy, autograd, gradient descent.

Every input is drawn at run time from the ``seed`` fixture; expected values are computed
here, in float64, from the inputs and from the parameters the student's model reports. Every
test needs an answer that depends on its inputs: each property is checked on inputs whose
right answers differ, or next to its complement ("about 0 when right" with "large when wrong").
"""

import torch
import torch.nn.functional as F

from dlcourse.checks import close, expect, grade, number, randint, rng, tensor, varies


def linear_params(params, in_features, name):
    """The weight vector and bias of a one-output linear layer, whatever its exact layout."""
    expect(
        len(params) == 2,
        f"{name} should have exactly two parameter tensors (weight and bias), found {len(params)}",
    )
    weight, bias = (tensor(p, f"a parameter of {name}") for p in params)
    if weight.numel() != in_features:
        weight, bias = bias, weight
    expect(
        weight.numel() == in_features and bias.numel() == 1,
        f"{name} should hold {in_features} weights and 1 bias",
    )
    return weight.double().reshape(in_features), bias.double().reshape(())


# --- Exercise 1: LogisticRegression --------------------------------------------------


@grade(
    cell="test_logistic_regression",
    points=1,
    hint="one nn.Linear(in_features, 1), then torch.sigmoid of its output",
)
def test_output_shape_and_range(nb, seed):
    """LogisticRegression(d) maps (N, d) inputs to (N, 1) probabilities that depend on the input."""
    g = rng(seed)
    d, n = randint(g, 1, 20), randint(g, 6, 64)
    first = nb.call(
        "logistic_regression", in_features=d, x=torch.randn(n, d, generator=g), seed=seed
    )
    weight, bias = linear_params(first["params"], d, "LogisticRegression")
    # Inputs whose logits w·x + b are judge-chosen values of size 3 to 10, of both signs (the
    # model is rebuilt from the same seed, so it has the same weights): logits themselves would
    # leave (0, 1), their sigmoids stay strictly inside it in float32.
    logits = (torch.rand(n, generator=g, dtype=torch.float64) * 7 + 3) * torch.where(
        torch.arange(n) % 2 == 0, 1.0, -1.0
    ).double()
    x = (logits - bias).unsqueeze(1) * weight / max(weight.dot(weight).item(), 1e-12)
    got = nb.call("logistic_regression", in_features=d, x=x.float(), seed=seed)
    out = tensor(got["out"], "LogisticRegression's output", shape=(n, 1))
    expect(
        bool(((out > 0) & (out < 1)).all()),
        "LogisticRegression's outputs should be probabilities in (0, 1)",
    )
    varies(out, "LogisticRegression")


@grade(
    cell="test_logistic_regression",
    points=1,
    hint="the output must be sigmoid(x @ weight.T + bias) of the model's own nn.Linear",
)
def test_is_linear_then_sigmoid(nb, seed):
    """LogisticRegression computes sigmoid(x·w + b) with its own weight and bias."""
    g = rng(seed)
    d, n = randint(g, 2, 20), randint(g, 1, 64)
    x = torch.randn(n, d, generator=g)
    got = nb.call("logistic_regression", in_features=d, x=x, seed=seed)
    out = tensor(got["out"], "LogisticRegression's output", shape=(n, 1))
    expect(
        got["modules"].count("Linear") == 1,
        "LogisticRegression should hold one nn.Linear(in_features, 1)",
    )
    weight, bias = linear_params(got["params"], d, "LogisticRegression")
    expected = torch.sigmoid(x.double() @ weight + bias).unsqueeze(1)
    expect(
        close(out, expected, atol=1e-5, rtol=1e-4),
        "LogisticRegression's output is not sigmoid(x·w + b) of its own weight and bias",
    )


# --- Exercise 2: binary_cross_entropy ------------------------------------------------


def _bce_reference(yhat, y):
    yhat, y = yhat.double(), y.double()
    return -(
        y * torch.log(yhat).clamp(min=-100) + (1 - y) * torch.log(1 - yhat).clamp(min=-100)
    ).mean()


@grade(
    cell="test_binary_cross_entropy",
    points=2,
    hint="-(y log ŷ + (1 - y) log(1 - ŷ)), averaged over all elements (not summed)",
)
def test_bce_matches_bceloss(nb, seed):
    """binary_cross_entropy equals nn.BCELoss on random predictions of several shapes."""
    g = rng(seed)
    for shape in [
        (randint(g, 1, 50), 1),
        (randint(g, 1, 50),),
        (randint(g, 2, 9), randint(g, 2, 9)),
    ]:
        yhat = torch.rand(shape, generator=g) * 0.9 + 0.05
        y = torch.randint(0, 2, shape, generator=g).float()
        got = number(
            nb.call("binary_cross_entropy", yhat=yhat, y=y), "binary_cross_entropy's result"
        )
        expected = _bce_reference(yhat, y).item()
        expect(
            abs(got - expected) <= 1e-6 + 1e-5 * abs(expected),
            f"binary_cross_entropy differs from nn.BCELoss for predictions of shape {shape}",
        )


@grade(
    cell="test_binary_cross_entropy",
    points=1,
    hint="clamp each log at -100 (or ŷ into [eps, 1 - eps]) so that 0 · log 0 never appears",
)
def test_bce_finite_at_exact_zero_and_one(nb, seed):
    """For predictions of exactly 0 and 1, binary_cross_entropy is about 0 when right and large when wrong."""
    g = rng(seed)
    n = randint(g, 4, 40)
    y = torch.randint(0, 2, (n, 1), generator=g).float()
    y[0], y[1] = 0.0, 1.0
    wrong = number(
        nb.call("binary_cross_entropy", yhat=1 - y, y=y),
        "binary_cross_entropy of predictions that are exactly 0 or 1",
    )
    right = number(
        nb.call("binary_cross_entropy", yhat=y.clone(), y=y),
        "binary_cross_entropy of perfect predictions of exactly 0 and 1",
    )
    # clamping the logs gives exactly 0; clamping yhat into [eps, 1 - eps] gives about eps
    expect(
        -1e-6 <= right <= 1e-4,
        "binary_cross_entropy should be about 0 for perfect predictions of 0 and 1",
    )
    expect(
        wrong > -torch.log(torch.tensor(0.3)).item(),
        "binary_cross_entropy should be large for predictions that are exactly 0 or 1 and wrong",
    )


# --- Exercise 3: bce_with_logits -----------------------------------------------------


def _logits(g, n_shape):
    """Logits spread over [-100, 100], a third of them beyond |z| = 30 (sigmoid saturated)."""
    z = torch.rand(n_shape, generator=g) * 200 - 100
    z.view(-1)[: z.numel() // 3] = torch.randn(z.numel() // 3, generator=g) * 4
    return z


@grade(
    cell="test_bce_with_logits",
    points=1,
    hint="softplus(z) - y * z, averaged; F.softplus is stable, log(1 + exp(z)) overflows",
)
def test_bce_with_logits_matches(nb, seed):
    """bce_with_logits equals F.binary_cross_entropy_with_logits for logits up to |z| = 100."""
    g = rng(seed)
    for shape in [
        (randint(g, 3, 50), 1),
        (randint(g, 3, 50),),
        (randint(g, 2, 9), randint(g, 2, 9)),
    ]:
        z = _logits(g, shape)
        y = torch.randint(0, 2, shape, generator=g).float()
        got = number(nb.call("bce_with_logits", z=z, y=y)["loss"], "bce_with_logits' result")
        expected = F.binary_cross_entropy_with_logits(z.double(), y.double()).item()
        # relative 1e-6, plus the float32 rounding of softplus(z) - z for 0 < z < 20 (<= 1e-6)
        expect(
            abs(got - expected) <= 2e-6 + 1e-6 * abs(expected),
            f"bce_with_logits differs from F.binary_cross_entropy_with_logits for logits of shape {shape}",
        )


@grade(
    cell="test_bce_with_logits",
    points=1,
    hint="never form sigmoid(z) and its log: the derivative of softplus(z) - y z is sigmoid(z) - y",
)
def test_bce_with_logits_gradient(nb, seed):
    """The gradient of bce_with_logits is (sigmoid(z) - y) / N, finite even at |z| = 100."""
    g = rng(seed)
    n = randint(g, 4, 40)
    z = _logits(g, (n, 1))
    z[0], z[1] = 100.0, -100.0
    y = torch.randint(0, 2, (n, 1), generator=g).float()
    y[0], y[1] = 0.0, 1.0  # both confidently wrong: the gradient must be +-1/N there
    grad = tensor(
        nb.call("bce_with_logits", z=z, y=y)["grad"],
        "the gradient of bce_with_logits",
        shape=(n, 1),
    )
    expected = (torch.sigmoid(z.double()) - y.double()) / n
    expect(
        close(grad, expected, atol=1e-7, rtol=1e-4),
        "the gradient of bce_with_logits with respect to z should be (sigmoid(z) - y) / N",
    )


# --- Exercise 4: mse_loss and loss_surface -------------------------------------------


@grade(cell="test_loss_surface", points=1, hint="the mean of the squared differences")
def test_mse_loss(nb, seed):
    """mse_loss equals nn.MSELoss on random inputs of two shapes."""
    g = rng(seed)
    for shape in [(randint(g, 1, 50), 1), (randint(g, 2, 9), randint(g, 2, 9))]:
        yhat, y = torch.rand(shape, generator=g), torch.rand(shape, generator=g)
        got = number(nb.call("mse_loss", yhat=yhat, y=y), "mse_loss's result")
        expected = ((yhat.double() - y.double()) ** 2).mean().item()
        expect(
            abs(got - expected) <= 1e-6 + 1e-5 * expected,
            f"mse_loss differs from nn.MSELoss for shape {shape}",
        )


@grade(
    cell="test_loss_surface",
    points=2,
    hint="rows follow weights, columns follow biases: L[i, j] uses weights[i] and biases[j]",
)
def test_loss_surface_values(nb, seed):
    """loss_surface[i, j] is loss_fn(sigmoid(weights[i] * x + biases[j]), y) for MSE and BCE."""
    g = rng(seed)
    # |w x + b| <= 3.75: sigmoid stays well away from 0 and 1 in float32, so float32 and
    # float64 losses agree closely (near saturation 1 - sigmoid(z) loses all precision).
    weights = torch.rand(randint(g, 2, 7), generator=g) * 3 - 1.5
    biases = torch.rand(randint(g, 2, 7), generator=g) * 3 - 1.5
    if len(biases) == len(weights):
        biases = biases[:-1] if len(biases) > 2 else torch.cat([biases, biases[:1] + 0.1])
    n = randint(g, 3, 30)
    x = torch.rand(n, 1, generator=g) * 3 - 1.5
    y = torch.randint(0, 2, (n, 1), generator=g).float()
    for loss, reference in [
        ("mse", lambda p: ((p - y.double()) ** 2).mean()),
        ("bce", lambda p: _bce_reference(p, y)),
    ]:
        got = tensor(
            nb.call("loss_surface", loss=loss, weights=weights, biases=biases, x=x, y=y),
            "loss_surface's result",
            shape=(len(weights), len(biases)),
        )
        expected = torch.tensor(
            [
                [reference(torch.sigmoid(w * x.double() + b)).item() for b in biases.double()]
                for w in weights.double()
            ],
            dtype=torch.float64,
        )
        expect(
            close(got, expected, atol=1e-5, rtol=1e-4),
            f"loss_surface[i, j] should be loss_fn(sigmoid(weights[i] * x + biases[j]), y) ({loss} loss)",
        )


# --- Exercise 5: gradient ------------------------------------------------------------


def _reference_gradient(loss, w, b, x, y):
    w = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    p = torch.sigmoid(w * x.double() + b)
    value = ((p - y.double()) ** 2).mean() if loss == "mse" else _bce_reference(p, y)
    value.backward()
    return w.grad.item(), b.grad.item()


def _student_gradient(nb, loss, w, b, x, y):
    got = nb.call("gradient", loss=loss, w=w, b=b, x=x, y=y)
    expect(
        isinstance(got, (list, tuple)) and len(got) == 2,
        "gradient should return a pair (dL/dw, dL/db)",
    )
    return number(got[0], "dL/dw"), number(got[1], "dL/db")


@grade(
    cell="test_gradient",
    points=1,
    hint="make w and b tensors with requires_grad=True, call backward() on the loss, read .grad",
)
def test_gradient_matches_autograd(nb, seed):
    """gradient returns autograd's (dL/dw, dL/db) for the MSE and the cross-entropy loss."""
    g = rng(seed)
    n = randint(g, 2, 30)
    x = torch.rand(n, 1, generator=g) * 4 - 2  # |w x + b| <= 6: no float32 saturation
    y = torch.randint(0, 2, (n, 1), generator=g).float()
    w, b = (torch.rand(2, generator=g) * 4 - 2).tolist()
    for loss in ("mse", "bce"):
        got = _student_gradient(nb, loss, w, b, x, y)
        expected = _reference_gradient(loss, w, b, x, y)
        expect(
            all(abs(a - e) <= 1e-5 + 1e-3 * abs(e) for a, e in zip(got, expected)),
            f"gradient does not match autograd's dL/dw, dL/db for the {loss} loss",
        )


@grade(
    cell="test_gradient",
    points=1,
    hint="differentiate the loss_fn you are given (whichever it is), at the w and b you are given",
)
def test_mse_gradient_vanishes_when_confidently_wrong(nb, seed):
    """For confidently wrong predictions gradient gives the tiny MSE and the large cross-entropy gradients."""
    g = rng(seed)
    n = randint(g, 1, 20)
    x = torch.rand(n, 1, generator=g) + 1  # in [1, 2)
    w = -float(torch.rand(1, generator=g)) * 2 - 4  # z = w x + b in about [-8.5, -4.5]: predicts 0
    b = -0.5
    y = torch.ones(n, 1)  # ... but every label is 1
    got = {loss: _student_gradient(nb, loss, w, b, x, y) for loss in ("mse", "bce")}
    for loss, pair in got.items():
        # sigmoid(z) >= 2e-4 here: float32 keeps ~4 significant digits of sigmoid's derivative
        expected = _reference_gradient(loss, w, b, x, y)
        expect(
            all(abs(a - e) <= 1e-7 + 2e-3 * abs(e) for a, e in zip(pair, expected)),
            f"gradient is wrong for confidently wrong predictions ({loss} loss)",
        )
    expect(
        abs(got["bce"][1]) > 10 * abs(got["mse"][1]) and abs(got["bce"][1]) > 0.5,
        "for confidently wrong predictions the MSE gradient should be far smaller than the cross-entropy one",
    )


# --- Exercise 6: autograd ------------------------------------------------------------

GRAPH_KINDS = {
    "leaf": (True, True, None),
    "constant": (True, False, None),
    "mul": (False, True, "MulBackward0"),
    "add": (False, True, "AddBackward0"),
    "sigmoid": (False, True, "SigmoidBackward0"),
    "detached": (True, False, None),
    "no_grad": (True, False, None),
}


@grade(
    cell="test_autograd",
    points=1,
    hint="return (t.is_leaf, t.requires_grad, type(t.grad_fn).__name__ or None)",
)
def test_graph_summary(nb, seed):
    """graph_summary tells leaves, constants, recorded results, detached and no_grad tensors apart."""
    g = rng(seed)
    kinds = list(GRAPH_KINDS)
    kinds = [kinds[i] for i in torch.randperm(len(kinds), generator=g).tolist()]
    value = torch.randn(randint(g, 1, 5), generator=g)
    got = nb.call("graph_summary", kinds=kinds, value=value)
    expect(isinstance(got, list) and len(got) == len(kinds), "graph_summary could not be read")
    for kind, answer in zip(kinds, got):
        expect(
            isinstance(answer, list) and len(answer) == 3,
            "graph_summary should return a triple (is_leaf, requires_grad, grad_fn_name)",
        )
        expect(
            tuple(answer) == GRAPH_KINDS[kind],
            f"graph_summary is wrong for a tensor that is {kind.replace('_', ' ')} "
            "(a leaf, a constant, computed from a leaf, detached, or computed under no_grad)",
        )


def _accumulation_inputs(g, batches):
    d = randint(g, 1, 6)
    loss = "bce" if randint(g, 0, 1) else "mse"
    w = torch.randn(d, generator=g)
    xs = [torch.randn(randint(g, 2, 20), d, generator=g) for _ in range(batches)]
    ys = [torch.randint(0, 2, (len(x),), generator=g).float() for x in xs]
    return loss, w, xs, ys


def _linear_loss_grad(loss, w, x, y):
    w = w.double().requires_grad_(True)
    z = x.double() @ w
    value = (
        F.binary_cross_entropy_with_logits(z, y.double())
        if loss == "bce"
        else ((z - y.double()) ** 2).mean()
    )
    return torch.autograd.grad(value, w)[0]


@grade(
    cell="test_autograd",
    points=1,
    hint="call backward() once per batch and do not reset .grad in between: it adds up",
)
def test_accumulated_gradient_is_sum(nb, seed):
    """accumulated_gradient returns the sum of the per-batch gradients over several batches."""
    g = rng(seed)
    loss, w, xs, ys = _accumulation_inputs(g, randint(g, 2, 4))
    got = nb.call("accumulated_gradient", loss=loss, w=w, xs=xs, ys=ys)
    grad = tensor(got["grad"], "accumulated_gradient's result", shape=w.shape)
    expected = sum(_linear_loss_grad(loss, w, x, y) for x, y in zip(xs, ys))
    expect(
        close(grad, expected, atol=1e-5, rtol=1e-4),
        f"accumulated_gradient over {len(xs)} batches should be the sum of the batches' gradients",
    )


@grade(
    cell="test_autograd",
    points=1,
    hint="work on w.detach().clone().requires_grad_(True), never on w itself",
)
def test_accumulated_gradient_leaves_w_alone(nb, seed):
    """accumulated_gradient gives the right gradient for one batch and leaves w unchanged."""
    g = rng(seed)
    loss, w, xs, ys = _accumulation_inputs(g, 1)
    got = nb.call("accumulated_gradient", loss=loss, w=w, xs=xs, ys=ys)
    grad = tensor(got["grad"], "accumulated_gradient's result", shape=w.shape)
    expect(
        close(grad, _linear_loss_grad(loss, w, xs[0], ys[0]), atol=1e-5, rtol=1e-4),
        "accumulated_gradient of a single batch should be that batch's gradient",
    )
    expect(
        got["w_requires_grad"] is False
        and got["w_has_grad"] is False
        and torch.equal(tensor(got["w"], "w after the call"), w),
        "accumulated_gradient changed w: it should still not require grad, have no .grad, "
        "and hold the same values",
    )


@grade(
    cell="test_autograd",
    points=1,
    hint="wrap the forward pass in `with torch.no_grad():` and return loss.item()",
)
def test_evaluate_without_graph(nb, seed):
    """evaluate returns the loss as a float, runs the model under no_grad and leaves .grad alone."""
    g = rng(seed)
    d, n = randint(g, 1, 8), randint(g, 2, 30)
    weight, bias = torch.randn(1, d, generator=g), torch.randn(1, generator=g)
    x, y = torch.randn(n, d, generator=g), torch.rand(n, 1, generator=g)
    grad = torch.randn(1, d, generator=g)
    got = nb.call("evaluate", weight=weight, bias=bias, x=x, y=y, grad=grad)
    value = number(got["result"], "evaluate's result")
    expected = ((x.double() @ weight.double().T + bias.double() - y.double()) ** 2).mean().item()
    expect(
        abs(value - expected) <= 1e-5 + 1e-5 * expected,
        "evaluate should return loss_fn(model(x), y)",
    )
    expect(got["is_float"], "evaluate should return a Python float (use .item())")
    seen = got["grad_enabled_in_forward"]
    expect(
        isinstance(seen, list) and len(seen) >= 1 and not any(seen),
        "evaluate should run the model's forward pass inside torch.no_grad()",
    )
    expect(
        got["grad_enabled_after"] is True, "after evaluate, gradient recording should be on again"
    )
    expect(
        close(tensor(got["weight_grad"], "the weight's .grad after evaluate"), grad, atol=0)
        and got["bias_grad_is_none"],
        "evaluate should leave the parameters' .grad as they were",
    )


# --- Exercise 7: LogisticStack -------------------------------------------------------


def _random_sizes(g, min_layers=1):
    """Layer sizes of a random stack: input, hidden ones (at least 2 wide), output."""
    hidden = [randint(g, 2, 12) for _ in range(randint(g, min_layers - 1, 3))]
    return [randint(g, 1, 12), *hidden, randint(g, 1, 12)]


@grade(
    cell="test_logistic_stack",
    points=1,
    hint="one nn.Linear per consecutive pair of sizes, kept in an nn.ModuleList",
)
def test_stack_structure(nb, seed):
    """LogisticStack(sizes) holds its nn.Linear layers in an nn.ModuleList and uses its input."""
    g = rng(seed)
    sizes = _random_sizes(g)
    got = nb.call(
        "logistic_stack", sizes=sizes, x=torch.randn(5, sizes[0], generator=g) * 2, seed=seed
    )
    out = tensor(got["out"], "LogisticStack's output", shape=(5, sizes[-1]))
    count = sum(tensor(p, "a parameter").numel() for p in got["params"])
    expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    expect(
        count == expected,
        f"LogisticStack({sizes}) should have {expected} parameters, it has {count}",
    )
    expect(
        "ModuleList" in got["modules"], "LogisticStack should keep its layers in an nn.ModuleList"
    )
    expect(
        got["modules"].count("Linear") == len(sizes) - 1,
        f"LogisticStack({sizes}) should have {len(sizes) - 1} nn.Linear layers",
    )
    expect(
        bool(((out > 0) & (out < 1)).all()), "LogisticStack's outputs should be sigmoids, in (0, 1)"
    )
    varies(out, "LogisticStack")


@grade(
    cell="test_logistic_stack",
    points=1,
    hint="x = sigmoid(layer(x)) for every layer, in order, including the last",
)
def test_stack_forward(nb, seed):
    """LogisticStack applies its layers in order with a sigmoid after every one."""
    g = rng(seed)
    sizes = _random_sizes(g, min_layers=2)  # with one layer, "a sigmoid only at the end" is right
    n = randint(g, 2, 20)
    x = torch.randn(n, sizes[0], generator=g)
    got = nb.call("logistic_stack", sizes=sizes, x=x, seed=seed)
    out = tensor(got["out"], "LogisticStack's output", shape=(n, sizes[-1]))
    params = [tensor(p, "a parameter") for p in got["params"]]
    expect(
        len(params) == 2 * (len(sizes) - 1),
        "LogisticStack should have a weight and a bias per layer",
    )
    h = x.double()
    for (a, b), weight, bias in zip(zip(sizes[:-1], sizes[1:]), params[0::2], params[1::2]):
        expect(
            tuple(weight.shape) == (b, a) and tuple(bias.shape) == (b,),
            "LogisticStack's layers should be nn.Linear(sizes[k], sizes[k + 1]) in order",
        )
        h = torch.sigmoid(h @ weight.double().T + bias.double())
    expect(
        close(out, h, atol=1e-5, rtol=1e-4),
        "LogisticStack should apply a sigmoid after every linear layer",
    )


# --- Exercise 8: gd_step and train ---------------------------------------------------


@grade(
    cell="test_training",
    points=2,
    hint="under torch.no_grad(), p -= lr * p.grad for each p; params may be a generator",
)
def test_gd_step_matches_sgd(nb, seed):
    """gd_step updates each parameter in place like one torch.optim.SGD step."""
    g = rng(seed)
    shapes = [
        tuple(randint(g, 1, 6) for _ in range(randint(g, 1, 3))) for _ in range(randint(g, 1, 4))
    ]
    values = [torch.randn(s, generator=g) for s in shapes]
    grads = [torch.randn(s, generator=g) for s in shapes]
    lr = float(torch.rand(1, generator=g)) + 0.01
    got = nb.call("gd_step", values=values, grads=grads, lr=lr)
    # one step of torch.optim.SGD without momentum or weight decay is p <- p - lr * grad; the
    # formula, in float64, rather than the optimizer itself, whose first use in a process
    # imports torch's compiler stack (over a second of every judge's time)
    expected = [v.double() - lr * grad.double() for v, grad in zip(values, grads)]
    expect(
        isinstance(got["params"], list) and len(got["params"]) == len(values),
        "gd_step lost parameters",
    )
    for mine, ref in zip(got["params"], expected):
        mine = tensor(mine, "an updated parameter", shape=ref.shape)
        expect(
            close(mine, ref, atol=1e-6, rtol=1e-5),
            "gd_step should update each parameter in place exactly like one torch.optim.SGD step",
        )
    expect(
        all(got["leaf"]),
        "after gd_step the parameters should still be leaf tensors that require grad "
        "(update them in place under torch.no_grad())",
    )


def _blobs(g, n, direction, center):
    """Two Gaussian blobs 8 standard deviations apart: linearly separable with margin."""
    labels = torch.randint(0, 2, (n, 1), generator=g).float()
    points = center + (labels * 2 - 1) * 2.0 * direction + 0.5 * torch.randn(n, 2, generator=g)
    return points, labels


@grade(
    cell="test_training",
    points=1,
    hint="one step per epoch on the whole data; return a list of Python floats (loss.item())",
)
def test_train_separates_blobs(nb, seed):
    """train returns one float loss per epoch and the trained model separates two blobs."""
    g = rng(seed)
    angle = float(torch.rand(1, generator=g)) * 2 * torch.pi
    direction = torch.tensor([torch.cos(torch.tensor(angle)), torch.sin(torch.tensor(angle))])
    center = torch.rand(2, generator=g) * 2 - 1
    x, y = _blobs(g, 200, direction, center)
    x_test, y_test = _blobs(g, 400, direction, center)
    epochs = 150
    got = nb.call("train", x=x, y=y, x_test=x_test, lr=0.5, epochs=epochs, seed=seed)
    history = got["history"]
    expect(
        isinstance(history, list) and len(history) == epochs,
        f"train should return a list of {epochs} losses, one per epoch",
    )
    expect(
        all(t == "float" for t in got["types"]),
        "train's losses should be Python floats (loss.item())",
    )
    losses = [number(v, "a loss in train's history") for v in history]
    expect(losses[-1] < losses[0], "the training loss should go down")
    out = tensor(got["test_out"], "the trained model's output", shape=(400, 1))
    accuracy = ((out > 0.5).float() == y_test).double().mean().item()
    # Blobs 8 standard deviations apart: the Bayes error is ~3e-5 per point; 95% leaves a wide margin.
    expect(
        accuracy >= 0.95,
        f"the trained model classifies only {accuracy:.1%} of new points correctly "
        "(at least 95% expected on this separable problem)",
    )


@grade(
    cell="test_training",
    points=2,
    hint="reset the gradients (model.zero_grad()) before every backward(), or they add up",
)
def test_train_takes_exact_steps(nb, seed):
    """train takes exactly one plain gradient-descent step per epoch, with fresh gradients each time."""
    g = rng(seed)
    d, n = randint(g, 1, 5), randint(g, 5, 40)
    x = torch.randn(n, d, generator=g)
    y = torch.randint(0, 2, (n, 1), generator=g).float()
    weight, bias = torch.randn(1, d, generator=g) * 0.5, torch.randn(1, generator=g) * 0.5
    lr, epochs = float(torch.rand(1, generator=g)) * 0.9 + 0.1, randint(g, 3, 6)
    got = nb.call(
        "train", x=x, y=y, x_test=x[:1], lr=lr, epochs=epochs, seed=seed, weight=weight, bias=bias
    )
    history = got["history"]
    expect(
        isinstance(history, list) and len(history) == epochs,
        f"train should return a list of {epochs} losses, one per epoch",
    )
    losses = [number(v, "a loss in train's history") for v in history]
    w = weight.double().requires_grad_(True)
    b = bias.double().requires_grad_(True)
    expected = []
    for _ in range(epochs):  # the same steps in float64
        loss = _bce_reference(torch.sigmoid(x.double() @ w.T + b), y)
        gw, gb = torch.autograd.grad(loss, (w, b))
        expected.append(loss.item())
        with torch.no_grad():
            w -= lr * gw
            b -= lr * gb
    expect(
        all(abs(a - e) <= 1e-5 + 1e-4 * abs(e) for a, e in zip(losses, expected)),
        "train's losses should be the loss before each of `epochs` plain gradient-descent steps",
    )
    expect(
        close(
            tensor(got["weight"], "the trained weight", shape=(1, d)),
            w.detach(),
            atol=1e-5,
            rtol=1e-4,
        )
        and close(
            tensor(got["bias"], "the trained bias", shape=(1,)), b.detach(), atol=1e-5, rtol=1e-4
        ),
        "train's parameters are not those of `epochs` plain gradient-descent steps of size lr "
        "(are the gradients reset before each backward pass?)",
    )


# --- Exercise 9: descend -------------------------------------------------------------


def _descend_inputs(g):
    n = randint(g, 4, 30)
    x = torch.randn(n, 1, generator=g) * 1.5
    y = (x + 0.5 * torch.randn(n, 1, generator=g) > 0).float()
    w0, b0 = float(torch.rand(1, generator=g)) * 6 - 3, float(torch.rand(1, generator=g)) * 4 - 2
    lr, steps = float(torch.rand(1, generator=g)) * 0.9 + 0.1, randint(g, 2, 12)
    return dict(w0=w0, b0=b0, x=x, y=y, lr=lr, steps=steps)


def _reference_path(loss, w0, b0, x, y, lr, steps):
    theta = torch.tensor([w0, b0], dtype=torch.float64)
    path = [theta.clone()]
    for _ in range(steps):
        theta.requires_grad_(True)
        z = theta[0] * x.double() + theta[1]
        value = (
            F.binary_cross_entropy_with_logits(z, y.double())
            if loss == "bce"
            else ((torch.sigmoid(z) - y.double()) ** 2).mean()
        )
        (grad,) = torch.autograd.grad(value, theta)
        theta = (theta - lr * grad).detach()
        path.append(theta.clone())
    return torch.stack(path)


@grade(
    cell="test_descend",
    points=1,
    hint="return torch.stack of the (w, b) pairs, starting with (w0, b0): steps + 1 rows, float32",
)
def test_descend_returns_path(nb, seed):
    """descend returns a float32 (steps + 1, 2) path whose first row is the start (w0, b0)."""
    g = rng(seed)
    inputs = _descend_inputs(g)
    got = tensor(
        nb.call("descend", loss="bce", **inputs),
        "descend's path",
        shape=(inputs["steps"] + 1, 2),
        dtype=torch.float32,
    )
    expect(
        close(got[0], torch.tensor([inputs["w0"], inputs["b0"]]), atol=1e-6),
        "row 0 of descend's path should be the start (w0, b0)",
    )


@grade(
    cell="test_descend",
    points=1,
    hint="each step: fresh gradient of loss_fn(w * x + b, y), then w -= lr * dL/dw, b -= lr * dL/db",
)
def test_descend_matches_gradient_descent(nb, seed):
    """descend's path is plain gradient descent on loss_fn(w * x + b, y), for cross-entropy and MSE."""
    g = rng(seed)
    for loss in ("bce", "mse"):
        inputs = _descend_inputs(g)
        got = tensor(
            nb.call("descend", loss=loss, **inputs),
            "descend's path",
            shape=(inputs["steps"] + 1, 2),
        )
        expect(
            close(got, _reference_path(loss, **inputs), atol=1e-4, rtol=1e-4),
            f"descend's path is not gradient descent on the loss of the logits ({loss} loss)",
        )
