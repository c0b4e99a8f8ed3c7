"""Alternative: explicit loops and stable formulas: BCE with an epsilon clamp on the
probabilities, bce_with_logits as max(z, 0) - y z + log1p(exp(-|z|)), an elementwise loop for
the surface, torch.optim.SGD as the update inside descend, a list-based ModuleList."""

MUST_FAIL: list[str] = []
CELLS = {
    "binary_cross_entropy": """def binary_cross_entropy(yhat, y):
    p = torch.clamp(yhat, 1e-7, 1 - 1e-7)
    return torch.mean(-(y * torch.log(p) + (1 - y) * torch.log(1 - p)))
""",
    "bce_with_logits": """def bce_with_logits(z, y):
    return torch.mean(torch.clamp(z, min=0) - y * z + torch.log1p(torch.exp(-torch.abs(z))))
""",
    "loss_surface": """def mse_loss(yhat, y):
    diff = (yhat - y).reshape(-1)
    return (diff * diff).sum() / diff.numel()


def loss_surface(loss_fn, weights, biases, x, y):
    rows = []
    for w in weights.tolist():
        row = []
        for b in biases.tolist():
            row.append(float(loss_fn(torch.sigmoid(w * x + b), y)))
        rows.append(row)
    return torch.tensor(rows)
""",
    "gradient": """def gradient(loss_fn, w, b, x, y):
    w_t = torch.full((), w, requires_grad=True)
    b_t = torch.full((), b, requires_grad=True)
    loss_fn(torch.sigmoid(x * w_t + b_t), y).backward()
    return float(w_t.grad), float(b_t.grad)
""",
    "autograd": """def graph_summary(t):
    if t.grad_fn is None:
        return (t.is_leaf, t.requires_grad, None)
    return (t.is_leaf, t.requires_grad, t.grad_fn.__class__.__name__)


def accumulated_gradient(loss_fn, w, batches):
    copy = w.clone().detach()
    copy.requires_grad = True
    for x, y in batches:
        loss = loss_fn(copy, x, y)
        loss.backward()
    return copy.grad


def evaluate(model, loss_fn, x, y):
    torch.set_grad_enabled(False)
    try:
        return loss_fn(model(x), y).item()
    finally:
        torch.set_grad_enabled(True)
""",
    "logistic_stack": """class LogisticStack(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        layers = []
        for k in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        out = x
        for k in range(len(self.layers)):
            out = torch.sigmoid(self.layers[k](out))
        return out
""",
    "training": """def gd_step(params, lr):
    with torch.no_grad():
        for p in list(params):
            p.sub_(lr * p.grad)


def train(model, loss_fn, x, y, lr, epochs):
    history = []
    for epoch in range(epochs):
        loss = loss_fn(model(x), y)
        model.zero_grad()
        loss.backward()
        history.append(loss.item())
        gd_step(model.parameters(), lr)
    return history
""",
    "descend": """def descend(loss_fn, w0, b0, x, y, lr, steps):
    w = torch.tensor([float(w0)], requires_grad=True)
    b = torch.tensor([float(b0)], requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr)
    path = torch.zeros(steps + 1, 2)
    path[0] = torch.tensor([w0, b0])
    for t in range(1, steps + 1):
        optimizer.zero_grad()
        loss_fn(w * x + b, y).backward()
        optimizer.step()
        path[t, 0], path[t, 1] = w.item(), b.item()
    return path
""",
}
