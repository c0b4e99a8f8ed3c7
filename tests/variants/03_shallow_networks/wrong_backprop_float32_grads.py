"""Wrong: forward_backward returns its gradients in float32 whatever the inputs' dtype."""

MUST_FAIL = ["test_backward_mse", "test_backward_bce"]
CELLS = {
    "forward_backward": '''def forward_backward(x, y, W1, b1, W2, b2, loss="mse"):
    """Loss and gradients of a sigmoid-sigmoid network, by the chain rule (no autograd)."""
    a1 = torch.sigmoid(x @ W1.T + b1)
    yhat = torch.sigmoid(a1 @ W2.T + b2)
    count = y.numel()
    if loss == "mse":
        value = ((yhat - y) ** 2).mean()
        g_z2 = 2 * (yhat - y) * yhat * (1 - yhat) / count
    else:
        value = -(y * torch.log(yhat) + (1 - y) * torch.log(1 - yhat)).mean()
        g_z2 = (yhat - y) / count
    g_z1 = (g_z2 @ W2) * a1 * (1 - a1)
    grads = {"W1": g_z1.T @ x, "b1": g_z1.sum(0), "W2": g_z2.T @ a1, "b2": g_z2.sum(0)}
    return value, {k: v.float() for k, v in grads.items()}
''',
}
