"""Wrong: accumulated_gradient resets the gradient before every batch, so it returns only the
last batch's gradient (right for a single batch)."""

MUST_FAIL = ["test_accumulated_gradient_is_sum"]
CELLS = {
    "autograd": """def graph_summary(t):
    return t.is_leaf, t.requires_grad, None if t.grad_fn is None else type(t.grad_fn).__name__


def accumulated_gradient(loss_fn, w, batches):
    w = w.detach().clone().requires_grad_(True)
    for x, y in batches:
        w.grad = None
        loss_fn(w, x, y).backward()
    return w.grad


def evaluate(model, loss_fn, x, y):
    with torch.no_grad():
        return loss_fn(model(x), y).item()
""",
}
