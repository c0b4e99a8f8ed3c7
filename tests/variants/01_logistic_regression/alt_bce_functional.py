"""Alternative: BCE through F.binary_cross_entropy (PyTorch clamps its logs at -100 too)."""

MUST_FAIL: list[str] = []
CELLS = {
    "binary_cross_entropy": '''import torch.nn.functional as F


def binary_cross_entropy(yhat, y):
    """Mean binary cross-entropy; finite even when yhat is exactly 0 or 1."""
    return F.binary_cross_entropy(yhat, y)
''',
}
