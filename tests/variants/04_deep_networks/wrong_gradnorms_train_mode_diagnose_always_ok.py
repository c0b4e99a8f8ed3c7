"""Wrong: gradient_norms switches the model to training mode first (a side effect that changes
batch norm's answer in eval mode), and diagnose always answers "ok"."""

MUST_FAIL = [
    "test_gradient_norms_no_side_effects",
    "test_diagnose_names_the_bug",
    "test_diagnose_healthy_is_ok",
]
CELLS = {
    "gradient_norms": '''def gradient_norms(model, x, y):
    """L2 norm of d cross_entropy(model(x), y) / d weight for every nn.Linear, in module order."""
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    model.train()
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, weights)
    return [g.norm().item() for g in grads]
''',
    "diagnose": '''def diagnose(model, x):
    """The first of the standard bugs a plain MLP classifier shows on x, or "ok"."""
    return "ok"
''',
}
