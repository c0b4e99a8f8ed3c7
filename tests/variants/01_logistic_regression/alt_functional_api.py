"""Alternative: functional PyTorch throughout: F.linear on the layer's parameters, F.logsigmoid for
the logit loss, broadcasting for the surface, torch.autograd.grad, torch.inference_mode, and
a descend that keeps w and b as two scalars."""

MUST_FAIL: list[str] = []
CELLS = {
    "logistic_regression": '''class LogisticRegression(nn.Module):
    """A single sigmoid neuron: p(y = 1 | x) = sigmoid(w·x + b)."""

    def __init__(self, in_features):
        super().__init__()
        self.fc = nn.Linear(in_features, 1)

    def forward(self, x):
        return F.linear(x, self.fc.weight, self.fc.bias).sigmoid()
''',
    "binary_cross_entropy": """def binary_cross_entropy(yhat, y):
    return -(y * torch.log(yhat).clamp_min(-100) + (1 - y) * torch.log1p(-yhat).clamp_min(-100)).mean()
""",
    "bce_with_logits": """def bce_with_logits(z, y):
    return -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z)).mean()
""",
    "loss_surface": """def mse_loss(yhat, y):
    return torch.mean(torch.square(yhat - y))


def loss_surface(loss_fn, weights, biases, x, y):
    z = weights[:, None, None, None] * x + biases[None, :, None, None]  # (W, B, N, 1)
    probs = torch.sigmoid(z)
    return torch.stack([torch.stack([loss_fn(probs[i, j], y) for j in range(len(biases))])
                        for i in range(len(weights))])
""",
    "gradient": """def gradient(loss_fn, w, b, x, y):
    params = torch.tensor([w, b], dtype=torch.float32, requires_grad=True)
    loss = loss_fn(torch.sigmoid(params[0] * x + params[1]), y)
    (grad,) = torch.autograd.grad(loss, params)
    return grad[0], grad[1]
""",
    "autograd": """def graph_summary(t):
    name = t.grad_fn.name() if t.grad_fn is not None else None
    return (t.grad_fn is None, bool(t.requires_grad), name)


def accumulated_gradient(loss_fn, w, batches):
    leaf = torch.empty_like(w).copy_(w).requires_grad_()
    for batch in batches:
        loss_fn(leaf, *batch).backward()
    return leaf.grad.clone()


def evaluate(model, loss_fn, x, y):
    with torch.inference_mode():
        loss = loss_fn(model(x), y)
    return float(loss)
""",
    "logistic_stack": """class LogisticStack(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList()
        for a, b in zip(sizes, sizes[1:]):
            self.layers.append(nn.Sequential(nn.Linear(a, b), nn.Sigmoid()))

    def forward(self, x):
        for block in self.layers:
            x = block(x)
        return x
""",
    "training": """def gd_step(params, lr):
    for p in params:
        p.data.add_(p.grad.data, alpha=-lr)


def train(model, loss_fn, x, y, lr, epochs):
    history = []
    for _ in range(epochs):
        for p in model.parameters():
            p.grad = None
        loss = loss_fn(model(x), y)
        loss.backward()
        gd_step(model.parameters(), lr)
        history.append(float(loss.detach()))
    return history
""",
    "descend": """def descend(loss_fn, w0, b0, x, y, lr, steps):
    w = torch.tensor(float(w0), requires_grad=True)
    b = torch.tensor(float(b0), requires_grad=True)
    rows = [[w.item(), b.item()]]
    for _ in range(steps):
        dw, db = torch.autograd.grad(loss_fn(w * x + b, y), (w, b))
        with torch.no_grad():
            w.sub_(lr * dw)
            b.sub_(lr * db)
        rows.append([w.item(), b.item()])
    return torch.tensor(rows, dtype=torch.float32)
""",
}
