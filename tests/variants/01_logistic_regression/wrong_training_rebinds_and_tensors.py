"""Wrong twice over: gd_step rebinds its loop variable (p = p - lr * grad) so no parameter
changes, and train stores the loss tensors instead of Python floats."""

MUST_FAIL = ["test_gd_step_matches_sgd", "test_train_separates_blobs"]
CELLS = {
    "training": '''def gd_step(params, lr):
    """theta <- theta - lr * grad, in place and outside autograd."""
    with torch.no_grad():
        for p in params:
            p = p - lr * p.grad


def train(model, loss_fn, x, y, lr, epochs):
    """Full-batch gradient descent; returns the loss before each step."""
    history = []
    for _ in range(epochs):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        gd_step(model.parameters(), lr)
        history.append(loss.detach())
    return history
''',
}
