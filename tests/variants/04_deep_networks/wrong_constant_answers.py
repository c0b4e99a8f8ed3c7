"""Wrong: every function returns a fixed value of the right type and shape, every model returns a
fixed tensor of the right shape (with parameters of the right shapes): must score 0."""

MUST_FAIL = "all"
CELLS = {
    "deep_net": '''class DeepNet(nn.Module):
    """An MLP: hidden layers Linear -> [BatchNorm1d] -> activation -> [Dropout], then a last Linear."""

    def __init__(self, sizes, activation="relu", dropout=0.0, batch_norm=False):
        super().__init__()
        layers = []
        for l in range(1, len(sizes)):
            layers.append(nn.Linear(sizes[l - 1], sizes[l]))
            if l < len(sizes) - 1:
                if batch_norm:
                    layers.append(nn.BatchNorm1d(sizes[l]))
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
        self.layers = nn.ModuleList(layers)
        self.out = sizes[-1]

    def forward(self, x):
        return torch.zeros(x.shape[0], self.out)
''',
    "initialization": '''def init_uniform_(linear, a):
    """Weights ~ U(-a, a), bias 0, in place; returns the layer."""
    with torch.no_grad():
        linear.weight.fill_(0.0)
        linear.bias.fill_(0.0)
    return linear


def init_xavier_(linear):
    """Xavier/Glorot uniform: std sqrt(2 / (fan_in + fan_out)), bias 0, in place; returns the layer."""
    return init_uniform_(linear, 0.0)


def init_he_(linear):
    """He/Kaiming normal: N(0, std = sqrt(2 / fan_in)), bias 0, in place; returns the layer."""
    return init_uniform_(linear, 0.0)
''',
    "activation_stds": '''def activation_stds(model, x):
    """Std of the output of every nn.Linear in `model` on input x, in the order the layers run."""
    return [1.0 for m in model.modules() if isinstance(m, nn.Linear)]
''',
    "dropout": '''def dropout(x, p, training=True):
    """Inverted dropout: zero each entry with probability p, scale the rest by 1 / (1 - p)."""
    return torch.zeros_like(x)
''',
    "batch_norm": '''class BatchNorm1d(nn.Module):
    """Batch normalization of (N, C) inputs over the batch, with running statistics for evaluation."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.full((num_features,), 0.5))
        self.bias = nn.Parameter(torch.full((num_features,), 0.5))
        self.register_buffer("running_mean", torch.full((num_features,), 0.5))
        self.register_buffer("running_var", torch.full((num_features,), 0.5))

    def forward(self, x):
        return torch.zeros_like(x)
''',
    "optimizers": '''def sgd_momentum_step(params, velocities, lr, momentum):
    """v <- momentum * v + grad; p <- p - lr * v (like torch.optim.SGD with momentum)."""
    with torch.no_grad():
        for p in params:
            p.fill_(0.0)


def adam_step(params, state, lr, betas, eps, t):
    """One Adam step (t = 1, 2, ...); state holds one {"m", "v"} dict per parameter."""
    sgd_momentum_step(params, None, lr, 0.0)
''',
    "mnist_model": """mnist_model = DeepNet([784, 64, 10], dropout=0.1, batch_norm=True)
train_losses, val_accuracies = [1.0], [0.1]
""",
    "gradient_norms": '''def gradient_norms(model, x, y):
    """L2 norm of d cross_entropy(model(x), y) / d weight for every nn.Linear, in module order."""
    return [1.0 for m in model.modules() if isinstance(m, nn.Linear)]
''',
    "debug_checks": '''def initial_loss_ok(model, x, num_classes, tol=0.1):
    """Whether the loss averaged over all labels is within tol * ln K of ln K (an unsure start)."""
    return True


def overfit_one_batch(model, x, y, steps, lr=0.01):
    """Full-batch Adam steps on (x, y) in training mode; the loss before each step, as floats."""
    return [0.0] * steps


def find_nonfinite(model, loss=None):
    """Name of the first NaN/Inf: parameter values, then the loss, then gradients; None if none."""
    return None
''',
    "diagnose": '''def diagnose(model, x):
    """The first of the standard bugs a plain MLP classifier shows on x, or "ok"."""
    return "ok"
''',
}
