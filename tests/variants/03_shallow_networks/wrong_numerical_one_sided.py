"""Wrong: numerical_gradient uses one-sided differences (f(x + eps e_i) - f(x)) / eps."""

MUST_FAIL = ["test_numerical_gradient"]
CELLS = {
    "numerical_gradient": '''def numerical_gradient(f, x, eps=1e-6):
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), one entry at a time."""
    x = x.clone()
    base = float(f(x))
    grad = torch.zeros_like(x)
    for i in range(x.numel()):
        x.view(-1)[i] += eps
        grad.view(-1)[i] = (float(f(x)) - base) / eps
        x.view(-1)[i] -= eps
    return grad
''',
}
