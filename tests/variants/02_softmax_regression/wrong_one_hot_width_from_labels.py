"""Wrong: one_hot takes its width from the labels (y.max() + 1) instead of num_classes."""

MUST_FAIL = ["test_one_hot_matches"]
CELLS = {
    "one_hot": """def one_hot(y, num_classes):
    out = torch.zeros(len(y), int(y.max()) + 1, device=y.device)
    out[torch.arange(len(y), device=y.device), y] = 1.0
    return out
""",
}
