"""Alternative: Python loops over entries' lists, an explicit counter of layers, foreach-style
in-place optimizer updates with torch._foreach-free arithmetic, activation_stds without no_grad
context reuse."""

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
}
