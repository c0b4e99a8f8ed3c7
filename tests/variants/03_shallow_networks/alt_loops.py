"""Alternative: loops instead of vectorised code, autograd.grad for the norms, F.cross_entropy
and Python lists in fit_curves, functional BCE with logits in train_xor.
Also: fit_1d with an OrderedDict Sequential, nn.MSELoss and a while loop, returned in train
mode; width_for_budget by bisection over the parameter count of real make_mlp networks."""

MUST_FAIL: list[str] = []
CELLS = {
    "shallow_net": '''class ShallowNet(nn.Module):
    """Linear -> activation -> Linear; the output is a vector of logits."""

    def __init__(self, in_features, hidden, out_features, activation="relu"):
        super().__init__()
        if activation == "sigmoid":
            act = nn.Sigmoid()
        elif activation == "tanh":
            act = nn.Tanh()
        elif activation == "relu":
            act = nn.ReLU()
        else:
            raise ValueError("unknown activation: " + str(activation))
        self.net = nn.Sequential(nn.Linear(in_features, hidden), act, nn.Linear(hidden, out_features))

    def forward(self, x):
        return self.net(x)
''',
    "train_xor": '''def train_xor(hidden, epochs, seed):
    """A tanh ShallowNet(2, hidden, 1) trained on 200 noisy XOR points; outputs logits."""
    torch.manual_seed(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    x, y = make_xor(200, generator=gen)
    net = ShallowNet(2, hidden, 1, activation="tanh")
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    epoch = 0
    while epoch < epochs:
        opt.zero_grad()
        F.binary_cross_entropy_with_logits(net(x), y).backward()
        opt.step()
        epoch += 1
    return net
''',
    "layer_gradient_norms": '''def layer_gradient_norms(model, x, y):
    """Norm of dL/dW for each nn.Linear weight, first to last, for L = mse(model(x), y)."""
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    grads = torch.autograd.grad(F.mse_loss(model(x), y), weights)
    out = []
    for g in grads:
        out.append(float(torch.sqrt((g * g).sum())))
    return out
''',
    "fit_curves": '''def fit_curves(hidden_sizes, weight_decay, data, epochs=500, lr=0.03, seed=0):
    """Per-epoch training and validation losses of ShallowNet(2, h, 2, "relu") for each width h."""
    x_train, y_train, x_val, y_val = data
    all_train, all_val = [], []
    for h in hidden_sizes:
        torch.manual_seed(seed)
        model = ShallowNet(2, h, 2, "relu")
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        train_row, val_row = [], []
        for _ in range(epochs):
            model.eval()
            with torch.no_grad():
                val_row.append(F.cross_entropy(model(x_val), y_val).item())
            model.train()
            logits = model(x_train)
            loss = F.cross_entropy(logits, y_train)
            train_row.append(loss.item())
            opt.zero_grad()
            loss.backward()
            opt.step()
        all_train.append(train_row)
        all_val.append(val_row)
    return torch.tensor(all_train), torch.tensor(all_val)
''',
    "class_balance": '''def class_weights(y, num_classes=None):
    """Inverse-frequency class weights N / (C * n_c), float32, shape (C,)."""
    C = num_classes or int(y.max()) + 1
    counts = [0] * C
    for label in y.tolist():
        counts[label] += 1
    return torch.tensor([len(y) / (C * n) for n in counts], dtype=torch.float32)


def balanced_accuracy(preds, y):
    """Mean over the classes present in y of the fraction of that class predicted correctly."""
    total = 0.0
    classes = sorted(set(y.tolist()))
    for c in classes:
        mask = y == c
        total += (preds[mask] == c).sum().item() / mask.sum().item()
    return total / len(classes)
''',
    "numerical_gradient": '''def numerical_gradient(f, x, eps=1e-6):
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), one entry at a time."""
    steps = torch.eye(x.numel(), dtype=x.dtype, device=x.device) * eps
    rows = []
    for step in steps:
        step = step.reshape(x.shape)
        rows.append((f(x + step) - f(x - step)) / (2 * eps))
    return torch.stack(rows).reshape(x.shape)
''',
    "fit_1d": '''from collections import OrderedDict


def fit_1d(hidden, x, y, epochs, seed):
    """One hidden layer of `hidden` ReLU units fitted to (x, y) by full-batch Adam on the MSE."""
    torch.manual_seed(seed)
    model = nn.Sequential(OrderedDict(
        hidden=nn.Linear(1, hidden), relu=nn.ReLU(), out=nn.Linear(hidden, 1)))
    optimizer = torch.optim.Adam(params=list(model.parameters()), lr=0.02, betas=(0.9, 0.999))
    criterion = nn.MSELoss(reduction="mean")
    step = 0
    while step < epochs:
        optimizer.zero_grad(set_to_none=False)
        criterion(model(x), y).backward()
        optimizer.step()
        step += 1
    return model.train()
''',
    "width_for_budget": '''def width_for_budget(n_in, n_out, budget, depth):
    """The largest width w with P(w) <= budget for `depth` hidden layers (biases included)."""
    if depth < 1:
        raise ValueError("need at least one hidden layer")
    size = lambda w: sum(p.numel() for p in make_mlp(n_in, n_out, w, depth).parameters())
    if size(1) > budget:
        raise ValueError("not even width 1 fits")
    low, high = 1, 2
    while size(high) <= budget:
        low, high = high, 2 * high
    while high - low > 1:  # size(low) <= budget < size(high)
        mid = (low + high) // 2
        low, high = (mid, high) if size(mid) <= budget else (low, mid)
    return low
''',
}
