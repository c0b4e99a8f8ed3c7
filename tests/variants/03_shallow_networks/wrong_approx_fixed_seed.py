"""Wrong: fit_1d seeds with 0 instead of `seed` (reproducible, but every seed gives one model)."""

MUST_FAIL = ["test_fit_1d_recipe"]
CELLS = {
    "fit_1d": '''def fit_1d(hidden, x, y, epochs, seed):
    """One hidden layer of `hidden` ReLU units fitted to (x, y) by full-batch Adam on the MSE."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(epochs):
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
    return model
''',
}
