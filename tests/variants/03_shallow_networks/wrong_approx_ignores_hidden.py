"""Wrong: fit_1d always builds 100 hidden units, whatever `hidden` says."""

MUST_FAIL = [
    "test_fit_1d_structure",
    "test_fit_1d_recipe",
    "test_fit_1d_error_falls_with_width",
]
CELLS = {
    "fit_1d": '''def fit_1d(hidden, x, y, epochs, seed):
    """One hidden layer of `hidden` ReLU units fitted to (x, y) by full-batch Adam on the MSE."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(1, 100), nn.ReLU(), nn.Linear(100, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(epochs):
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
    return model
''',
}
