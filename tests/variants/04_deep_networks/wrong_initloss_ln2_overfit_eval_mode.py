"""Wrong: initial_loss_ok compares with ln 2 whatever the number of classes, and overfit_one_batch
trains the model in whatever mode it is in (no model.train())."""

MUST_FAIL = [
    "test_initial_loss_ok",
    "test_overfit_one_batch",
]
CELLS = {
    "debug_checks": '''def initial_loss_ok(model, x, num_classes, tol=0.1):
    """Whether the loss averaged over all labels is within tol * ln K of ln K (an unsure start)."""
    with torch.no_grad():
        loss = -F.log_softmax(model(x), dim=1).mean().item()
    return abs(loss - math.log(2)) <= tol * math.log(2)


def overfit_one_batch(model, x, y, steps, lr=0.01):
    """Full-batch Adam steps on (x, y) in training mode; the loss before each step, as floats."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
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
    if loss is not None and not torch.isfinite(loss).all():
        return "loss"
    for name, p in named:
        if p.grad is not None and not torch.isfinite(p.grad).all():
            return name + ".grad"
    return None
''',
}
