"""Wrong: fit_1d squeezes the output before the loss, so F.mse_loss broadcasts (N,) against
(N, 1) into an (N, N) table and the network learns the mean of y, a constant."""

MUST_FAIL = [
    "test_fit_1d_recipe",
    "test_fit_1d_wide_net_fits",
    "test_fit_1d_error_falls_with_width",
]
CELLS = {
    "fit_1d": '''import warnings


def fit_1d(hidden, x, y, epochs, seed):
    """One hidden layer of `hidden` ReLU units fitted to (x, y) by full-batch Adam on the MSE."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epochs):
            optimizer.zero_grad()
            F.mse_loss(model(x).squeeze(), y).backward()
            optimizer.step()
    return model
''',
}
