"""Wrong: fit_1d trains a copy and returns the fresh model (untrained); width_for_budget keeps a
width only when its count is strictly below the budget (a budget it fits exactly is refused)."""

MUST_FAIL = [
    "test_fit_1d_recipe",
    "test_fit_1d_wide_net_fits",
    "test_fit_1d_error_falls_with_width",
    "test_width_for_budget_largest",
    "test_width_for_budget_rejects",
]
CELLS = {
    "fit_1d": '''import copy


def fit_1d(hidden, x, y, epochs, seed):
    """One hidden layer of `hidden` ReLU units fitted to (x, y) by full-batch Adam on the MSE."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    trained = copy.deepcopy(model)
    optimizer = torch.optim.Adam(trained.parameters(), lr=0.02)
    for _ in range(epochs):
        optimizer.zero_grad()
        F.mse_loss(trained(x), y).backward()
        optimizer.step()
    return model
''',
}
EDITS = {
    "width_for_budget": [
        ("if count(1) > budget:", "if count(1) >= budget:"),
        ("while count(w + 1) <= budget:", "while count(w + 1) < budget:"),
    ]
}
