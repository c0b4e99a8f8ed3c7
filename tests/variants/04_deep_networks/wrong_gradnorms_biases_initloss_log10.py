"""Wrong: gradient_norms measures the biases' gradients instead of the weights', and
initial_loss_ok compares the loss with log10(K) instead of ln K."""

MUST_FAIL = [
    "test_gradient_norms_values",
    "test_gradient_norms_he_vs_small_uniform",
    "test_gradient_norms_no_side_effects",
    "test_initial_loss_ok",
]
CELLS = {
    "gradient_norms": '''def gradient_norms(model, x, y):
    """L2 norm of d cross_entropy(model(x), y) / d weight for every nn.Linear, in module order."""
    weights = [m.bias for m in model.modules() if isinstance(m, nn.Linear)]
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, weights)
    return [g.norm().item() for g in grads]
''',
    "debug_checks": '''def initial_loss_ok(model, x, num_classes, tol=0.1):
    """Whether the loss averaged over all labels is within tol * ln K of ln K (an unsure start)."""
    with torch.no_grad():
        loss = -F.log_softmax(model(x), dim=1).mean().item()
    return abs(loss - math.log10(num_classes)) <= tol * math.log10(num_classes)


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
    if loss is not None and not torch.isfinite(loss).all():
        return "loss"
    for name, p in named:
        if p.grad is not None and not torch.isfinite(p.grad).all():
            return name + ".grad"
    return None
''',
}
