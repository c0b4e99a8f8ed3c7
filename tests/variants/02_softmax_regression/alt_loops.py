"""Alternative: row-by-row loops: softmax and cross-entropy per example, one_hot by a loop,
predict by comparing each logit with the row's maximum, a nested Sequential model, a
decision_regions that fills the grid row by row from one batch."""

MUST_FAIL: list[str] = []
CELLS = {
    "softmax": """def softmax(z):
    rows = []
    for row in z:
        e = torch.exp(row - row.max())
        rows.append(e / e.sum())
    return torch.stack(rows)
""",
    "one_hot": """def one_hot(y, num_classes):
    out = torch.zeros(len(y), num_classes, dtype=torch.float32, device=y.device)
    for i, label in enumerate(y.tolist()):
        out[i, label] = 1
    return out
""",
    "categorical_cross_entropy": """def categorical_cross_entropy(logits, y):
    total = 0.0
    for row, label in zip(logits, y):
        m = row.max()
        total = total + (m + torch.log(torch.sum(torch.exp(row - m)))) - row[label]
    return total / len(y)
""",
    "softmax_regression": """class SoftmaxRegression(nn.Module):
    def __init__(self, in_features, num_classes):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, num_classes))

    def forward(self, x):
        return self.net(x)


def predict(model, x):
    with torch.no_grad():
        logits = model(x)
        return torch.tensor([int(torch.nonzero(row == row.max())[0]) for row in logits],
                            dtype=torch.int64, device=logits.device)
""",
    "parameters": """def count_trainable(model):
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def freeze_bias(model):
    frozen = []
    for name, p in list(model.named_parameters()):
        if name.endswith("bias"):
            p.requires_grad = False
            frozen.append(name)
    return frozen
""",
    "train_softmax": """def train_softmax(model, x, y, lr, epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr)
    history = []
    for epoch in range(epochs):
        loss = categorical_cross_entropy(model(x), y)
        history.append(loss.item())
        model.zero_grad()
        loss.backward()
        optimizer.step()
    return history
""",
    "decision_regions": """def decision_regions(model, xs, ys):
    points = torch.stack([torch.stack([xs[j], ys[i]]) for i in range(len(ys)) for j in range(len(xs))])
    labels = predict(model, points)
    grid = torch.zeros(len(ys), len(xs), dtype=torch.int64)
    for i in range(len(ys)):
        grid[i] = labels[i * len(xs):(i + 1) * len(xs)]
    return grid
""",
    "train_epoch": """def train_epoch(model, loader, optimizer):
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for x, y in loader:
        loss = categorical_cross_entropy(model(x.to(device)), y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total, count = total + loss.item(), count + 1
    return total / count
""",
}
