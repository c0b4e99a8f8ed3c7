"""Wrong: gradient_norms switches the model to training mode first (a side effect that changes
batch norm's answer in eval mode), and diagnose always answers "ok"."""

MUST_FAIL = [
    "test_gradient_norms_no_side_effects",
    "test_diagnose_names_the_bug",
    "test_diagnose_healthy_is_ok",
]
EDITS = {
    "gradient_norms": [
        (
            "    loss = F.cross_entropy",
            ("    model.train()\n    loss = F.cross_entropy"),
        ),
    ],
    "diagnose": [
        (
            "    if any(not p.requires_grad",
            ('    return "ok"\n    if any(not p.requires_grad'),
        ),
    ],
}
