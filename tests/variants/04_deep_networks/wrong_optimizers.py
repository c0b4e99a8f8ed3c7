"""Wrong: sgd_momentum_step replaces the parameters in the list (no longer leaves that require
grad) and adam_step forgets the bias corrections."""

MUST_FAIL = ["test_sgd_momentum", "test_adam"]
CELLS = {
    "optimizers": '''def sgd_momentum_step(params, velocities, lr, momentum):
    """v <- momentum * v + grad; p <- p - lr * v (like torch.optim.SGD with momentum)."""
    with torch.no_grad():
        for i, p in enumerate(params):
            velocities[i].mul_(momentum).add_(p.grad)
            params[i] = p - lr * velocities[i]


def adam_step(params, state, lr, betas, eps, t):
    """One Adam step (t = 1, 2, ...); state holds one {"m", "v"} dict per parameter."""
    beta1, beta2 = betas
    with torch.no_grad():
        for p, s in zip(params, state):
            s["m"].mul_(beta1).add_((1 - beta1) * p.grad)
            s["v"].mul_(beta2).add_((1 - beta2) * p.grad ** 2)
            p.sub_(lr * s["m"] / (s["v"].sqrt() + eps))
''',
}
