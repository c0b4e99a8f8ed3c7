"""Wrong: diagnose skips the affinity check (a network without activations passes as "ok"), and
find_nonfinite checks the gradients before the loss."""

MUST_FAIL = [
    "test_diagnose_names_the_bug",
    "test_find_nonfinite_values_and_loss",
]
CELLS = {
    "diagnose": '''def diagnose(model, x):
    """The first of the standard bugs a plain MLP classifier shows on x, or "ok"."""
    if any(not p.requires_grad for p in model.parameters()):
        return "frozen_layer"
    with torch.no_grad():
        out = model(x)
        if not torch.allclose(model(x[:1]), out[:1], atol=1e-5, rtol=1e-4):
            return "softmax_wrong_dim"
        half = len(x) // 2
        a, b = x[:half], x[half:2 * half]
        f_a, f_b = model(a), model(b)
        gap = (model((a + b) / 2) - (f_a + f_b) / 2).abs().max()
    if not initial_loss_ok(model, x, out.shape[1]):
        return "bad_initial_loss"
    return "ok"
''',
    "debug_checks": '''def initial_loss_ok(model, x, num_classes, tol=0.1):
    """Whether the loss averaged over all labels is within tol * ln K of ln K (an unsure start)."""
    with torch.no_grad():
        loss = -F.log_softmax(model(x), dim=1).mean().item()
    return abs(loss - math.log(num_classes)) <= tol * math.log(num_classes)


def overfit_one_batch(model, x, y, steps, lr=0.01):
    """Full-batch Adam steps on (x, y) in training mode; the loss before each step, as floats."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def find_nonfinite(model, loss=None):
    """Name of the first NaN/Inf: parameter values, then the loss, then gradients; None if none."""
    named = list(model.named_parameters())
    for name, p in named:
        if not torch.isfinite(p).all():
            return name
    for name, p in named:
        if p.grad is not None and not torch.isfinite(p.grad).all():
            return name + ".grad"
    if loss is not None and not torch.isfinite(loss).all():
        return "loss"
    return None
''',
}
