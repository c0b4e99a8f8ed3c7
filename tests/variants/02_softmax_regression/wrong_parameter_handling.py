"""Wrong: count_trainable counts frozen parameters too, and freeze_bias sets requires_grad on
every other parameter (unfreezing what was frozen: a side effect the exercise forbids)."""

MUST_FAIL = ["test_count_trainable", "test_freeze_bias"]
CELLS = {
    "parameters": """def count_trainable(model):
    return sum(p.numel() for p in model.parameters())


def freeze_bias(model):
    frozen = []
    for name, p in model.named_parameters():
        p.requires_grad_(not name.endswith("bias"))
        if name.endswith("bias"):
            frozen.append(name)
    return frozen
""",
}
