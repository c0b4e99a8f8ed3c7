"""Wrong: fit_1d shuffles the caller's x and y in place (the fit is the same, a full batch does
not care about order, but the caller's data is changed)."""

MUST_FAIL = ["test_fit_1d_recipe"]
CELLS = {
    "fit_1d": '''def fit_1d(hidden, x, y, epochs, seed):
    """One hidden layer of `hidden` ReLU units fitted to (x, y) by full-batch Adam on the MSE."""
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    x[:], y[:] = x[order].clone(), y[order].clone()
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(epochs):
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
    return model
''',
}
