"""Wrong: layer_gradient_norms does not clear old gradients before backward()."""

MUST_FAIL = ["test_norms_ignore_old_gradients"]
CELLS = {
    "layer_gradient_norms": '''def layer_gradient_norms(model, x, y):
    """Norm of dL/dW for each nn.Linear weight, first to last, for L = mse(model(x), y)."""
    F.mse_loss(model(x), y).backward()
    return [m.weight.grad.norm().item() for m in model.modules() if isinstance(m, nn.Linear)]
''',
}
