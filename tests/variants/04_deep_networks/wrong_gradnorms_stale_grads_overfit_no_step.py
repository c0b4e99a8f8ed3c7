"""Wrong: gradient_norms calls backward() without clearing the old .grad (old gradients add in,
and stay changed), and overfit_one_batch never calls optimizer.step()."""

MUST_FAIL = [
    "test_gradient_norms_values",
    "test_gradient_norms_no_side_effects",
    "test_overfit_one_batch",
]
EDITS = {
    "gradient_norms": [
        (
            (
                "    grads = torch.autograd.grad(loss, weights)\n"
                "    return [g.norm().item() for g in grads]"
            ),
            ("    loss.backward()\n    return [w.grad.norm().item() for w in weights]"),
        ),
    ],
    "debug_checks": [
        (
            "        optimizer.step()\n",
            "",
        ),
    ],
}
