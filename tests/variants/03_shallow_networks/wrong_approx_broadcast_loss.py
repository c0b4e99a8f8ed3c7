"""Wrong: fit_1d squeezes the output before the loss, so F.mse_loss broadcasts (N,) against
(N, 1) into an (N, N) table and the network learns the mean of y, a constant."""

MUST_FAIL = [
    "test_fit_1d_recipe",
    "test_fit_1d_wide_net_fits",
    "test_fit_1d_error_falls_with_width",
]
EDITS = {"fit_1d": [("F.mse_loss(model(x), y)", "F.mse_loss(model(x).squeeze(), y)")]}
