"""Wrong: forward_backward switches autograd back on and uses torch.autograd.grad."""

MUST_FAIL = ["test_forward_loss_values", "test_backward_mse", "test_backward_bce"]
CELLS = {
    "forward_backward": '''def forward_backward(x, y, W1, b1, W2, b2, loss="mse"):
    """Loss and gradients of a sigmoid-sigmoid network, by the chain rule (no autograd)."""
    with torch.enable_grad():
        params = [t.detach().clone().requires_grad_(True) for t in (W1, b1, W2, b2)]
        yhat = torch.sigmoid(torch.sigmoid(x @ params[0].T + params[1]) @ params[2].T + params[3])
        value = F.mse_loss(yhat, y) if loss == "mse" else F.binary_cross_entropy(yhat, y)
        grads = torch.autograd.grad(value, params)
    return value.detach(), dict(zip(["W1", "b1", "W2", "b2"], grads))
''',
}
