"""Wrong: BCE summed over the batch instead of averaged."""

MUST_FAIL = ["test_bce_matches_bceloss"]
CELLS = {
    "binary_cross_entropy": '''def binary_cross_entropy(yhat, y):
    """Mean binary cross-entropy; finite even when yhat is exactly 0 or 1."""
    log_p = torch.clamp(torch.log(yhat), min=-100)
    log_not_p = torch.clamp(torch.log(1 - yhat), min=-100)
    return -(y * log_p + (1 - y) * log_not_p).sum()
''',
}
