"""Wrong: every function ignores its inputs and returns a fixed, well-typed value; every model
has the right parameters but a forward pass that returns a fixed tensor of the right shape."""

MUST_FAIL = "all"
CELLS = {
    "logistic_regression": '''class LogisticRegression(nn.Module):
    """A single sigmoid neuron: p(y = 1 | x) = sigmoid(w·x + b)."""

    def __init__(self, in_features):
        super().__init__()
        self.linear = nn.Linear(in_features, 1)

    def forward(self, x):
        return torch.full((x.shape[0], 1), 0.5)
''',
    "binary_cross_entropy": """def binary_cross_entropy(yhat, y):
    return torch.tensor(0.5)
""",
    "bce_with_logits": """def bce_with_logits(z, y):
    return torch.tensor(0.5, requires_grad=True)
""",
    "loss_surface": """def mse_loss(yhat, y):
    return torch.tensor(0.25)


def loss_surface(loss_fn, weights, biases, x, y):
    return torch.zeros(len(weights), len(biases))
""",
    "gradient": """def gradient(loss_fn, w, b, x, y):
    return 0.0, 0.0
""",
    "autograd": """def graph_summary(t):
    return True, True, None


def accumulated_gradient(loss_fn, w, batches):
    return torch.zeros_like(w)


def evaluate(model, loss_fn, x, y):
    return 0.5
""",
    "logistic_stack": """class LogisticStack(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out_features = sizes[-1]

    def forward(self, x):
        return torch.full((x.shape[0], self.out_features), 0.5)
""",
    "training": """def gd_step(params, lr):
    pass


def train(model, loss_fn, x, y, lr, epochs):
    return [0.5] * epochs
""",
    "descend": """def descend(loss_fn, w0, b0, x, y, lr, steps):
    return torch.zeros(steps + 1, 2)
""",
}
