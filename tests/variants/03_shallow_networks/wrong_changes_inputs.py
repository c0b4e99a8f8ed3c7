"""Wrong: the caller's inputs are changed. numerical_gradient perturbs x and never puts the
entries back; fit_1d shuffles x and y in place (its fit is the same: a full batch does not
care about order)."""

MUST_FAIL = [
    "test_numerical_gradient",
    "test_fit_1d_recipe",
]
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
EDITS = {
    "fit_1d": [
        (
            "    torch.manual_seed(seed)\n",
            "    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))\n"
            "    x[:], y[:] = x[order].clone(), y[order].clone()\n"
            "    torch.manual_seed(seed)\n",
        )
    ]
}
