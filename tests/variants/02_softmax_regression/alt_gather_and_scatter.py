"""Alternative: indexing-based: softmax as exp(z - LSE), one_hot by scatter_, cross-entropy by
gather (no one_hot), predict by torch.max(...).indices, a layer named fc, parameters frozen by
walking the modules, decision_regions by torch.cartesian_prod, gradients set to None."""

MUST_FAIL: list[str] = []
CELLS = {
    "softmax": """def softmax(z):
    m = z.amax(dim=1, keepdim=True)
    lse = m + torch.log(torch.exp(z - m).sum(dim=1, keepdim=True))
    return torch.exp(z - lse)
""",
    "one_hot": """def one_hot(y, num_classes):
    return torch.zeros(y.shape[0], num_classes, device=y.device).scatter_(1, y.long().unsqueeze(1), 1.0)
""",
    "categorical_cross_entropy": """def categorical_cross_entropy(logits, y):
    m = logits.amax(dim=1, keepdim=True)
    log_z = (m + (logits - m).exp().sum(dim=1, keepdim=True).log()).squeeze(1)
    return torch.mean(log_z - logits.gather(1, y.unsqueeze(1)).squeeze(1))
""",
    "softmax_regression": """class SoftmaxRegression(nn.Module):
    def __init__(self, in_features, num_classes):
        super().__init__()
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.fc(x)


def predict(model, x):
    with torch.no_grad():
        return torch.max(model(x), dim=1).indices
""",
    "parameters": """def count_trainable(model):
    total = 0
    for _, p in model.named_parameters():
        if p.requires_grad:
            total += p.numel()
    return total


def freeze_bias(model):
    names = [name for name, _ in model.named_parameters() if name.split(".")[-1] == "bias"]
    params = dict(model.named_parameters())
    for name in names:
        params[name].requires_grad = False
    return names
""",
    "train_softmax": """def train_softmax(model, x, y, lr, epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.0)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad(set_to_none=True)
        loss = categorical_cross_entropy(model(x), y)
        losses.append(float(loss))
        loss.backward()
        optimizer.step()
    return losses
""",
    "decision_regions": """def decision_regions(model, xs, ys):
    points = torch.cartesian_prod(ys, xs).flip(1)  # (y, x) pairs in row-major order -> (x, y)
    return predict(model, points).view(len(ys), len(xs))
""",
    "train_epoch": """def train_epoch(model, loader, optimizer):
    device = next(model.parameters()).device
    losses = []
    for batch_x, batch_y in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = categorical_cross_entropy(model(batch_x.to(device)), batch_y.to(device))
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return torch.stack(losses).mean().item()
""",
}
