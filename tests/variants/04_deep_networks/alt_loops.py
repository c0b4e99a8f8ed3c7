"""Alternative: Python loops over entries' lists, an explicit counter of layers, foreach-style
in-place optimizer updates with torch._foreach-free arithmetic, activation_stds without no_grad
context reuse,
gradient_norms by backward() with .grad saved and restored and a Python sum of squares,
initial_loss_ok as one cross-entropy per label, find_nonfinite with isnan | isinf."""

MUST_FAIL: list[str] = []
CELLS = {
    "deep_net": '''class DeepNet(nn.Module):
    """An MLP: hidden layers Linear -> [BatchNorm1d] -> activation -> [Dropout], then a last Linear."""

    def __init__(self, sizes, activation="relu", dropout=0.0, batch_norm=False):
        super().__init__()
        self.layers = nn.ModuleList()
        last = len(sizes) - 2
        for i in range(len(sizes) - 1):
            self.layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < last:
                if batch_norm:
                    self.layers.append(nn.BatchNorm1d(sizes[i + 1]))
                self.layers.append(ACTIVATIONS[activation]())
                if dropout > 0:
                    self.layers.append(nn.Dropout(dropout))

    def forward(self, x):
        out = x
        i = 0
        while i < len(self.layers):
            out = self.layers[i](out)
            i += 1
        return out
''',
    "activation_stds": '''def activation_stds(model, x):
    """Std of the output of every nn.Linear in `model` on input x, in the order the layers run."""
    stds = []
    handles = []
    for module in model.modules():
        if type(module) is nn.Linear or isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(lambda m, i, o: stds.append(o.std(unbiased=False).item())))
    with torch.no_grad():
        model(x)
    while handles:
        handles.pop().remove()
    return stds
''',
    "optimizers": '''def sgd_momentum_step(params, velocities, lr, momentum):
    """v <- momentum * v + grad; p <- p - lr * v (like torch.optim.SGD with momentum)."""
    with torch.no_grad():
        for i in range(len(params)):
            velocities[i].copy_(momentum * velocities[i] + params[i].grad)
            params[i].copy_(params[i] - lr * velocities[i])


def adam_step(params, state, lr, betas, eps, t):
    """One Adam step (t = 1, 2, ...); state holds one {"m", "v"} dict per parameter."""
    beta1, beta2 = betas
    with torch.no_grad():
        for i in range(len(params)):
            g = params[i].grad
            state[i]["m"].copy_(beta1 * state[i]["m"] + (1 - beta1) * g)
            state[i]["v"].copy_(beta2 * state[i]["v"] + (1 - beta2) * g.pow(2))
            alpha = lr / (1 - beta1 ** t)
            denom = state[i]["v"].sqrt() / math.sqrt(1 - beta2 ** t) + eps
            params[i].addcdiv_(state[i]["m"], denom, value=-alpha)
''',
    "gradient_norms": '''def gradient_norms(model, x, y):
    """L2 norm of d cross_entropy(model(x), y) / d weight for every nn.Linear, in module order."""
    saved = [(p, p.grad) for p in model.parameters()]
    for p, _ in saved:
        p.grad = None
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    norms = []
    for module in model.modules():
        if isinstance(module, nn.Linear):
            total = 0.0
            for value in module.weight.grad.flatten().tolist():
                total += value * value
            norms.append(math.sqrt(total))
    for p, grad in saved:
        p.grad = grad
    return norms
''',
    "debug_checks": '''def initial_loss_ok(model, x, num_classes, tol=0.1):
    """Whether the loss averaged over all labels is within tol * ln K of ln K (an unsure start)."""
    with torch.no_grad():
        logits = model(x)
        total = 0.0
        for k in range(logits.shape[1]):
            labels = torch.full((len(x),), k, dtype=torch.long, device=logits.device)
            total += F.cross_entropy(logits, labels).item()
    loss = total / logits.shape[1]
    return bool(abs(loss - math.log(num_classes)) <= tol * math.log(num_classes))


def overfit_one_batch(model, x, y, steps, lr=0.01):
    """Full-batch Adam steps on (x, y) in training mode; the loss before each step, as floats."""
    model.train()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    losses = []
    step = 0
    while step < steps:
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        losses.append(float(loss))
        loss.backward()
        optimizer.step()
        step += 1
    return losses


def find_nonfinite(model, loss=None):
    """Name of the first NaN/Inf: parameter values, then the loss, then gradients; None if none."""
    names, tensors = [], []
    for name, p in model.named_parameters():
        names.append(name)
        tensors.append(p)
    for name, p in zip(names, tensors):
        if (torch.isnan(p) | torch.isinf(p)).any():
            return name
    if loss is not None and (torch.isnan(loss) | torch.isinf(loss)).any():
        return "loss"
    for name, p in zip(names, tensors):
        if p.grad is None:
            continue
        if (torch.isnan(p.grad) | torch.isinf(p.grad)).any():
            return f"{name}.grad"
    return None
''',
    "diagnose": '''def diagnose(model, x):
    """The first of the standard bugs a plain MLP classifier shows on x, or "ok"."""
    for p in model.parameters():
        if not p.requires_grad:
            return "frozen_layer"
    with torch.no_grad():
        whole = model(x)
        alone = model(x[0:1])
        if not torch.allclose(alone, whole[0:1], atol=1e-5, rtol=1e-4):
            return "softmax_wrong_dim"
        n = len(x) // 2
        a, b = x[:n], x[n:2 * n]
        f_a, f_b, f_mid = model(a), model(b), model(0.5 * a + 0.5 * b)
        if (f_mid - 0.5 * f_a - 0.5 * f_b).abs().max() <= 1e-3 * (f_a - f_b).abs().max():
            return "missing_activation"
        classes = whole.shape[1]
    if not initial_loss_ok(model, x, classes):
        return "bad_initial_loss"
    return "ok"
''',
}
