"""Wrong: decision_regions with indexing="ij": rows along x, columns along y."""

MUST_FAIL = ["test_decision_regions_grid"]
CELLS = {
    "decision_regions": """def decision_regions(model, xs, ys):
    gx, gy = torch.meshgrid(xs, ys, indexing="ij")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    return predict(model, points).reshape(len(xs), len(ys))
""",
}
