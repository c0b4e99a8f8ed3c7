"""Alternative: DeepNet as a ModuleList of nn.Sequential blocks, nn.init initializers, dropout by
torch.bernoulli, batch norm with x.var(unbiased=...), optimizers that replace their state items,
gradient_norms that finds the weights by name in named_parameters()."""

MUST_FAIL: list[str] = []
CELLS = {
    "deep_net": '''class DeepNet(nn.Module):
    """An MLP: hidden layers Linear -> [BatchNorm1d] -> activation -> [Dropout], then a last Linear."""

    def __init__(self, sizes, activation="relu", dropout=0.0, batch_norm=False):
        super().__init__()
        blocks = []
        for i in range(1, len(sizes) - 1):
            block = [nn.Linear(sizes[i - 1], sizes[i])]
            if batch_norm:
                block.append(nn.BatchNorm1d(sizes[i]))
            block.append(ACTIVATIONS[activation]())
            if dropout > 0:
                block.append(nn.Dropout(p=dropout))
            blocks.append(nn.Sequential(*block))
        blocks.append(nn.Linear(sizes[-2], sizes[-1]))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x
''',
    "initialization": '''def init_uniform_(linear, a):
    """Weights ~ U(-a, a), bias 0, in place; returns the layer."""
    nn.init.uniform_(linear.weight, -a, a)
    if linear.bias is not None:
        nn.init.zeros_(linear.bias)
    return linear


def init_xavier_(linear):
    """Xavier/Glorot uniform: std sqrt(2 / (fan_in + fan_out)), bias 0, in place; returns the layer."""
    nn.init.xavier_uniform_(linear.weight)
    if linear.bias is not None:
        nn.init.zeros_(linear.bias)
    return linear


def init_he_(linear):
    """He/Kaiming normal: N(0, std = sqrt(2 / fan_in)), bias 0, in place; returns the layer."""
    nn.init.kaiming_normal_(linear.weight, mode="fan_in", nonlinearity="relu")
    if linear.bias is not None:
        nn.init.zeros_(linear.bias)
    return linear
''',
    "dropout": '''def dropout(x, p, training=True):
    """Inverted dropout: zero each entry with probability p, scale the rest by 1 / (1 - p)."""
    if training:
        mask = torch.bernoulli(torch.full_like(x, 1 - p))
        return mask * x / (1 - p)
    return x
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
        if not self.training:
            x_hat = (x - self.running_mean) / (self.running_var + self.eps).sqrt()
        else:
            mean, var = x.mean(0), x.var(0, unbiased=False)
            with torch.no_grad():
                m = self.momentum
                self.running_mean.copy_((1 - m) * self.running_mean + m * mean)
                self.running_var.copy_((1 - m) * self.running_var + m * x.var(0, unbiased=True))
            x_hat = (x - mean) * torch.rsqrt(var + self.eps)
        return x_hat * self.weight + self.bias
''',
    "optimizers": '''def sgd_momentum_step(params, velocities, lr, momentum):
    """v <- momentum * v + grad; p <- p - lr * v (like torch.optim.SGD with momentum)."""
    for i, p in enumerate(params):
        velocities[i] = momentum * velocities[i] + p.grad
        p.data -= lr * velocities[i]


def adam_step(params, state, lr, betas, eps, t):
    """One Adam step (t = 1, 2, ...); state holds one {"m", "v"} dict per parameter."""
    b1, b2 = betas
    for p, s in zip(params, state):
        g = p.grad
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        step = lr * (s["m"] / (1 - b1 ** t)) / ((s["v"] / (1 - b2 ** t)).sqrt() + eps)
        with torch.no_grad():
            p.add_(-step)
''',
    "gradient_norms": '''def gradient_norms(model, x, y):
    """L2 norm of d cross_entropy(model(x), y) / d weight for every nn.Linear, in module order."""
    params = dict(model.named_parameters())
    names = [f"{name}.weight" if name else "weight" for name, m in model.named_modules()
             if isinstance(m, nn.Linear)]
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, [params[n] for n in names])
    return [float(g.pow(2).sum().sqrt()) for g in grads]
''',
}
