"""Wrong: descend returns its (correct) path in float64, a dtype the exercise fixes as float32."""

MUST_FAIL = ["test_descend_returns_path"]
CELLS = {
    "descend": """def descend(loss_fn, w0, b0, x, y, lr, steps):
    theta = torch.tensor([float(w0), float(b0)], requires_grad=True)
    path = [theta.detach().double()]
    for _ in range(steps):
        theta.grad = None
        loss_fn(theta[0] * x + theta[1], y).backward()
        with torch.no_grad():
            theta -= lr * theta.grad
        path.append(theta.detach().double())
    return torch.stack(path)
""",
}
