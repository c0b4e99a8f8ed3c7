"""Alternative: DeepNet with separate ModuleLists per kind, manual initializers through copy_,
activation_stds with a dict of hooks, dropout through torch.where, batch norm from sums,
gradient_norms on a deep copy, initial_loss_ok from logsumexp, overfit_one_batch with a closure,
find_nonfinite and diagnose as lists of candidates."""

MUST_FAIL: list[str] = []
CELLS = {
    "deep_net": '''class DeepNet(nn.Module):
    """An MLP: hidden layers Linear -> [BatchNorm1d] -> activation -> [Dropout], then a last Linear."""

    def __init__(self, sizes, activation="relu", dropout=0.0, batch_norm=False):
        super().__init__()
        self.linears = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.norms = nn.ModuleList([nn.BatchNorm1d(n) for n in sizes[1:-1]]) if batch_norm else None
        self.acts = nn.ModuleList([ACTIVATIONS[activation]() for _ in sizes[1:-1]])
        self.drops = nn.ModuleList([nn.Dropout(dropout) for _ in sizes[1:-1]]) if dropout > 0 else None

    def forward(self, x):
        for i, linear in enumerate(self.linears[:-1]):
            x = linear(x)
            if self.norms is not None:
                x = self.norms[i](x)
            x = self.acts[i](x)
            if self.drops is not None:
                x = self.drops[i](x)
        return self.linears[-1](x)
''',
    "initialization": '''def init_uniform_(linear, a):
    """Weights ~ U(-a, a), bias 0, in place; returns the layer."""
    with torch.no_grad():
        linear.weight.copy_(torch.rand(linear.weight.shape) * 2 * a - a)
        if linear.bias is not None:
            linear.bias.fill_(0.0)
    return linear


def init_xavier_(linear):
    """Xavier/Glorot uniform: std sqrt(2 / (fan_in + fan_out)), bias 0, in place; returns the layer."""
    fan_in, fan_out = linear.in_features, linear.out_features
    return init_uniform_(linear, (6.0 / (fan_in + fan_out)) ** 0.5)


def init_he_(linear):
    """He/Kaiming normal: N(0, std = sqrt(2 / fan_in)), bias 0, in place; returns the layer."""
    with torch.no_grad():
        linear.weight.copy_(torch.randn(linear.weight.shape) * (2.0 / linear.in_features) ** 0.5)
        if linear.bias is not None:
            linear.bias.mul_(0)
    return linear
''',
    "activation_stds": '''def activation_stds(model, x):
    """Std of the output of every nn.Linear in `model` on input x, in the order the layers run."""
    seen = {}
    order = []

    def record(module, inputs, output):
        order.append(module)
        seen[module] = float(output.detach().std())

    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    handles = [m.register_forward_hook(record) for m in linears]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return [seen[m] for m in order]
''',
    "dropout": '''def dropout(x, p, training=True):
    """Inverted dropout: zero each entry with probability p, scale the rest by 1 / (1 - p)."""
    if not training:
        return x
    drop = torch.rand(x.shape, device=x.device) < p
    return torch.where(drop, torch.zeros_like(x), x / (1 - p))
''',
    "batch_norm": '''class BatchNorm1d(nn.Module):
    """Batch normalization of (N, C) inputs over the batch, with running statistics for evaluation."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        if self.training:
            n = x.size(0)
            mean = x.sum(0) / n
            centered = x - mean
            var = (centered * centered).sum(0) / n
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var * (n / (n - 1)), self.momentum)
            return centered / torch.sqrt(var + self.eps) * self.weight + self.bias
        return (x - self.running_mean) / torch.sqrt(self.running_var + self.eps) * self.weight + self.bias
''',
    "gradient_norms": '''import copy


def gradient_norms(model, x, y):
    """L2 norm of d cross_entropy(model(x), y) / d weight for every nn.Linear, in module order."""
    twin = copy.deepcopy(model)  # the original keeps its .grad, its buffers and its mode
    twin.zero_grad(set_to_none=True)
    F.cross_entropy(twin(x), y).backward()
    return [
        torch.linalg.vector_norm(m.weight.grad).item()
        for m in twin.modules()
        if isinstance(m, nn.Linear)
    ]
''',
    "debug_checks": '''def initial_loss_ok(model, x, num_classes, tol=0.1):
    """Whether the loss averaged over all labels is within tol * ln K of ln K (an unsure start)."""
    with torch.no_grad():
        z = model(x)
        loss = (torch.logsumexp(z, dim=1) - z.mean(dim=1)).mean().item()
    return math.isclose(loss, math.log(num_classes), rel_tol=0.0, abs_tol=tol * math.log(num_classes))


def overfit_one_batch(model, x, y, steps, lr=0.01):
    """Full-batch Adam steps on (x, y) in training mode; the loss before each step, as floats."""
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    return [optimizer.step(closure).item() for _ in range(steps)]


def find_nonfinite(model, loss=None):
    """Name of the first NaN/Inf: parameter values, then the loss, then gradients; None if none."""
    named = dict(model.named_parameters())
    candidates = list(named.items())
    candidates += [("loss", loss)] if loss is not None else []
    candidates += [(n + ".grad", p.grad) for n, p in named.items() if p.grad is not None]
    return next((n for n, t in candidates if not bool(torch.isfinite(t).all())), None)
''',
    "diagnose": '''def diagnose(model, x):
    """The first of the standard bugs a plain MLP classifier shows on x, or "ok"."""
    checks = []
    if not all(p.requires_grad for p in model.parameters()):
        return "frozen_layer"
    with torch.no_grad():
        out = model(x)
        half = len(x) // 2
        a, b = x[:half], x[half:2 * half]
        ends = torch.stack([model(a), model(b)])
        gap = torch.max(torch.abs(model((a + b) / 2) - ends.mean(dim=0)))
        checks = [
            ("softmax_wrong_dim", not torch.allclose(model(x[:1]), out[:1], atol=1e-5, rtol=1e-4)),
            ("missing_activation", bool(gap <= 1e-3 * torch.max(torch.abs(ends[0] - ends[1])))),
        ]
    checks.append(("bad_initial_loss", not initial_loss_ok(model, x, out.shape[-1])))
    return next((label for label, found in checks if found), "ok")
''',
}
