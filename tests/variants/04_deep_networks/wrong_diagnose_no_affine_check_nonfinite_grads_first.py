"""Wrong: diagnose skips the affinity check (a network without activations passes as "ok"), and
find_nonfinite checks the gradients before the loss."""

MUST_FAIL = [
    "test_diagnose_names_the_bug",
    "test_find_nonfinite_values_and_loss",
]
EDITS = {
    "diagnose": [
        (
            '            return "missing_activation"\n',
            "            pass\n",
        ),
    ],
    "debug_checks": [
        (
            (
                "    if loss is not None and not torch.isfinite(loss).all():\n"
                '        return "loss"\n'
                "    for name, p in named:\n"
                "        if p.grad is not None and not torch.isfinite(p.grad).all():\n"
                '            return name + ".grad"\n'
            ),
            (
                "    for name, p in named:\n"
                "        if p.grad is not None and not torch.isfinite(p.grad).all():\n"
                '            return name + ".grad"\n'
                "    if loss is not None and not torch.isfinite(loss).all():\n"
                '        return "loss"\n'
            ),
        ),
    ],
}
