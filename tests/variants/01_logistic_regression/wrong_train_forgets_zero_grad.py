"""Wrong: train never resets the gradients, so every step uses the sum of all past gradients
(the exact-steps test sees it after two steps; on the blobs the growing steps blow up)."""

MUST_FAIL = ["test_train_takes_exact_steps", "test_train_separates_blobs"]
CELLS = {
    "training": '''def gd_step(params, lr):
    """theta <- theta - lr * grad, in place and outside autograd."""
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad


def train(model, loss_fn, x, y, lr, epochs):
    """Full-batch gradient descent; returns the loss before each step."""
    history = []
    for _ in range(epochs):
        loss = loss_fn(model(x), y)
        loss.backward()
        gd_step(model.parameters(), lr)
        history.append(loss.item())
    return history
''',
}
