"""Wrong: graph_summary calls every tensor without grad_fn a leaf that requires grad,
accumulated_gradient turns w itself into a leaf (a side effect the exercise forbids), and
evaluate detaches the result instead of running the forward pass under no_grad."""

MUST_FAIL = [
    "test_graph_summary",
    "test_accumulated_gradient_leaves_w_alone",
    "test_evaluate_without_graph",
]
CELLS = {
    "autograd": """def graph_summary(t):
    if t.grad_fn is None:
        return True, True, None
    return False, True, type(t.grad_fn).__name__


def accumulated_gradient(loss_fn, w, batches):
    w.requires_grad_(True)
    for x, y in batches:
        loss_fn(w, x, y).backward()
    return w.grad


def evaluate(model, loss_fn, x, y):
    return loss_fn(model(x), y).detach().item()
""",
}
