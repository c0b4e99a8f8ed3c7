"""Wrong: numerical_gradient perturbs the caller's x and never puts the entries back."""

MUST_FAIL = ["test_numerical_gradient"]
CELLS = {
    "numerical_gradient": '''def numerical_gradient(f, x, eps=1e-6):
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), one entry at a time."""
    grad = torch.zeros_like(x)
    flat = x.view(-1)
    for i in range(flat.numel()):
        flat[i] += eps
        up = float(f(x))
        flat[i] -= 2 * eps
        down = float(f(x))
        grad.view(-1)[i] = (up - down) / (2 * eps)
    return grad
''',
}
