"""Wrong: one_hot returns int64 rows, not the float32 the exercise fixes."""

MUST_FAIL = ["test_one_hot_matches"]
CELLS = {
    "one_hot": """def one_hot(y, num_classes):
    out = torch.zeros(len(y), num_classes, dtype=torch.int64, device=y.device)
    out[torch.arange(len(y), device=y.device), y] = 1
    return out
""",
}
