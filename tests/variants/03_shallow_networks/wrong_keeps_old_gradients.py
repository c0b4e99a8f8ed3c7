"""Wrong: old gradients are not cleared. layer_gradient_norms calls backward() without
zero_grad(); fit_1d never clears them either (each Adam step follows the sum of all past
gradients). And width_for_budget returns 0 instead of raising for a budget too small, and
accepts depth 0."""

MUST_FAIL = [
    "test_norms_ignore_old_gradients",
    "test_fit_1d_recipe",
    "test_fit_1d_wide_net_fits",
    "test_fit_1d_error_falls_with_width",
    "test_width_for_budget_rejects",
]
CELLS = {
    "layer_gradient_norms": '''def layer_gradient_norms(model, x, y):
    """Norm of dL/dW for each nn.Linear weight, first to last, for L = mse(model(x), y)."""
    F.mse_loss(model(x), y).backward()
    return [m.weight.grad.norm().item() for m in model.modules() if isinstance(m, nn.Linear)]
''',
    "width_for_budget": '''def width_for_budget(n_in, n_out, budget, depth):
    """The largest width w with P(w) <= budget for `depth` hidden layers (biases included)."""
    count = lambda w: (n_in + 1) * w + (depth - 1) * (w + 1) * w + (w + 1) * n_out
    w = 0
    while count(w + 1) <= budget and w < 10**6:
        w += 1
    return w
''',
}
EDITS = {"fit_1d": [("        optimizer.zero_grad()\n", "")]}
