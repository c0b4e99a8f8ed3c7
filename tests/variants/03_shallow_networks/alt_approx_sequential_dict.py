"""Alternative: fit_1d with an OrderedDict nn.Sequential, nn.MSELoss and zero_grad(set_to_none=
False), returned in train mode; width_for_budget by bisection over the parameter count of real
make_mlp networks."""

MUST_FAIL: list[str] = []
CELLS = {
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
