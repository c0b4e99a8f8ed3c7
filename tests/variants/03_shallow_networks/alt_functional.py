"""Alternative: functional forwards (F.linear, torch activations), an OrderedDict Sequential,
einsum backprop, unique-based class weights and a confusion-matrix balanced accuracy.
Also: fit_1d with a module class of its own (clamp for the ReLU, the MSE written out,
model.zero_grad()), width_for_budget from the quadratic formula with integer corrections."""

MUST_FAIL: list[str] = []
CELLS = {
    "shallow_net": '''class ShallowNet(nn.Module):
    """Linear -> activation -> Linear; the output is a vector of logits."""

    FUNCTIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}

    def __init__(self, in_features, hidden, out_features, activation="relu"):
        super().__init__()
        if activation not in self.FUNCTIONS:
            raise ValueError(f"activation must be one of {sorted(self.FUNCTIONS)}")
        self.fn = self.FUNCTIONS[activation]
        self.layers = nn.ModuleList([nn.Linear(in_features, hidden), nn.Linear(hidden, out_features)])

    def forward(self, x):
        first, second = self.layers
        return F.linear(self.fn(F.linear(x, first.weight, first.bias)), second.weight, second.bias)
''',
    "make_sequential": '''from collections import OrderedDict


def make_sequential(in_features, hidden, out_features, activation="relu"):
    """ShallowNet as an nn.Sequential: Linear, activation module, Linear."""
    modules = {"sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "relu": nn.ReLU()}
    try:
        act = modules[activation]
    except KeyError:
        raise ValueError(activation) from None
    return nn.Sequential(OrderedDict([("fc1", nn.Linear(in_features, hidden)), ("act", act),
                                      ("fc2", nn.Linear(hidden, out_features))]))
''',
    "forward_backward": '''def forward_backward(x, y, W1, b1, W2, b2, loss="mse"):
    """Loss and gradients of a sigmoid-sigmoid network, by the chain rule (no autograd)."""
    z1 = torch.einsum("nd,md->nm", x, W1) + b1
    a1 = 1 / (1 + torch.exp(-z1))
    z2 = torch.einsum("nm,km->nk", a1, W2) + b2
    yhat = 1 / (1 + torch.exp(-z2))
    n = y.shape[0] * y.shape[1]
    diff = yhat - y
    if loss == "bce":
        value = (F.softplus(z2) - y * z2).sum() / n   # the same BCE, from the logits
        delta2 = diff / n
    else:
        value = (diff * diff).sum() / n
        delta2 = 2 * diff * yhat * (1 - yhat) / n
    delta1 = torch.einsum("nk,km->nm", delta2, W2) * a1 * (1 - a1)
    return value, {"W2": torch.einsum("nk,nm->km", delta2, a1), "b2": delta2.sum(dim=0),
                   "W1": torch.einsum("nm,nd->md", delta1, x), "b1": delta1.sum(dim=0)}
''',
    "class_balance": '''def class_weights(y, num_classes=None):
    """Inverse-frequency class weights N / (C * n_c), float32, shape (C,)."""
    C = num_classes if num_classes is not None else int(y.max().item()) + 1
    classes, counts = torch.unique(y, return_counts=True)
    n_c = torch.zeros(C, dtype=torch.float32)
    n_c[classes] = counts.to(torch.float32)
    return (y.numel() / (C * n_c)).to(torch.float32)


def balanced_accuracy(preds, y):
    """Mean over the classes present in y of the fraction of that class predicted correctly."""
    C = int(max(preds.max(), y.max())) + 1
    confusion = torch.zeros(C, C, dtype=torch.float64)
    confusion.index_put_((y, preds), torch.ones(len(y), dtype=torch.float64), accumulate=True)
    support = confusion.sum(1)
    present = support > 0
    return float((confusion.diag()[present] / support[present]).mean())
''',
    "numerical_gradient": '''def numerical_gradient(f, x, eps=1e-6):
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), one entry at a time."""
    grad = torch.empty_like(x)
    for index in torch.cartesian_prod(*[torch.arange(n) for n in x.shape]).reshape(-1, x.dim()):
        i = tuple(index.tolist())
        x[i] += eps
        up = f(x).item()
        x[i] -= 2 * eps
        down = f(x).item()
        x[i] += eps
        grad[i] = (up - down) / (2 * eps)
    return grad
''',
    "fit_1d": '''class OneHidden(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.first = nn.Linear(1, hidden)
        self.second = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.second(torch.clamp(self.first(x), min=0))


def fit_1d(hidden, x, y, epochs, seed):
    """One hidden layer of `hidden` ReLU units fitted to (x, y) by full-batch Adam on the MSE."""
    torch.manual_seed(seed)
    model = OneHidden(hidden).to(x.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    for epoch in range(epochs):
        model.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    return model.eval()
''',
    "width_for_budget": '''def width_for_budget(n_in, n_out, budget, depth):
    """The largest width w with P(w) <= budget for `depth` hidden layers (biases included)."""
    if depth < 1:
        raise ValueError("depth < 1")
    # P(w) = a w^2 + b w + c
    a, b, c = depth - 1, n_in + 1 + n_out + (depth - 1), n_out
    count = lambda w: a * w * w + b * w + c
    if a == 0:
        w = (budget - c) // b
    else:
        w = int((-b + math.sqrt(b * b + 4 * a * (budget - c))) / (2 * a)) if budget >= c else 0
    while w > 0 and count(w) > budget:
        w -= 1
    while count(w + 1) <= budget:
        w += 1
    if w < 1:
        raise ValueError(f"budget {budget} is too small")
    return int(w)
''',
}
