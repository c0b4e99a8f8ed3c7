"""Wrong: gradient ignores loss_fn and always returns the cross-entropy gradient formula
(sigmoid - y) x, so it is right for cross-entropy and wrong for the MSE."""

MUST_FAIL = ["test_gradient_matches_autograd", "test_mse_gradient_vanishes_when_confidently_wrong"]
CELLS = {
    "gradient": """def gradient(loss_fn, w, b, x, y):
    p = torch.sigmoid(w * x + b)
    return ((p - y) * x).mean().item(), (p - y).mean().item()
""",
}
