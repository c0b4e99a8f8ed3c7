"""Wrong: layer_gradient_norms returns 0-d tensors instead of the Python floats asked for."""

MUST_FAIL = [
    "test_norms_match_autograd",
    "test_norms_ignore_old_gradients",
    "test_vanishing_gradients",
]
CELLS = {
    "layer_gradient_norms": '''def layer_gradient_norms(model, x, y):
    """Norm of dL/dW for each nn.Linear weight, first to last, for L = mse(model(x), y)."""
    model.zero_grad()
    F.mse_loss(model(x), y).backward()
    return [m.weight.grad.norm() for m in model.modules() if isinstance(m, nn.Linear)]
''',
}
