"""Wrong: fit_1d's hidden units are sigmoids (it still fits smooth functions, but it is not the
ReLU network asked for); width_for_budget forgets the biases of the hidden layers after the
first."""

MUST_FAIL = ["test_fit_1d_structure", "test_fit_1d_recipe", "test_width_for_budget_largest"]
CELLS = {
    "fit_1d": '''def fit_1d(hidden, x, y, epochs, seed):
    """One hidden layer of `hidden` ReLU units fitted to (x, y) by full-batch Adam on the MSE."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(1, hidden), nn.Sigmoid(), nn.Linear(hidden, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(epochs):
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
    return model
''',
    "width_for_budget": '''def width_for_budget(n_in, n_out, budget, depth):
    """The largest width w with P(w) <= budget for `depth` hidden layers (biases included)."""
    if depth < 1:
        raise ValueError("depth < 1")
    count = lambda w: (n_in + 1) * w + (depth - 1) * w * w + (w + 1) * n_out
    if count(1) > budget:
        raise ValueError("budget too small")
    w = 1
    while count(w + 1) <= budget:
        w += 1
    return w
''',
}
