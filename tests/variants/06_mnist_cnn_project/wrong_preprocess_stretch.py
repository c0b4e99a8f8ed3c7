"""Wrong: preprocess_digit scales the crop to 20 × 20 whatever its shape (the aspect ratio is lost)."""

MUST_FAIL = ["test_preprocess_digit_is_mnist_like", "test_preprocess_digit_keeps_accuracy"]
CELLS = {
    "preprocess": '''def preprocess_digit(image):
    """A grey image (H, W), dark ink on light paper -> an MNIST-style (1, 28, 28) float32 tensor."""
    ink = 1 - torch.as_tensor(image, dtype=torch.float32)
    ink = ink - ink.median()                          # the paper (most pixels) -> about 0
    ink = (ink / ink.max().clamp(min=1e-6)).clamp(0, 1)
    rows = (ink > 0.5).any(dim=1).nonzero().squeeze(1)   # clearly ink, not noise
    cols = (ink > 0.5).any(dim=0).nonzero().squeeze(1)
    if len(rows) == 0:
        return torch.zeros(1, 28, 28)
    top, bottom = max(int(rows[0]) - 1, 0), min(int(rows[-1]) + 2, ink.shape[0])
    left, right = max(int(cols[0]) - 1, 0), min(int(cols[-1]) + 2, ink.shape[1])
    crop = ink[top:bottom, left:right]
    crop = torch.where(crop > 0.2, crop, torch.zeros(()))   # faint noise around the strokes -> 0
    h, w = crop.shape
    size = (20, 20)  # both sides to 20: the aspect ratio is lost
    small = F.interpolate(crop[None, None], size=size, mode="bilinear", antialias=True,
                          align_corners=False)[0, 0].clamp(0, 1)
    mass = small.sum().clamp(min=1e-6)
    cy = (small.sum(dim=1) * torch.arange(size[0])).sum() / mass
    cx = (small.sum(dim=0) * torch.arange(size[1])).sum() / mass
    y0 = min(max(int(round(14 - float(cy))), 0), 28 - size[0])
    x0 = min(max(int(round(14 - float(cx))), 0), 28 - size[1])
    out = torch.zeros(1, 28, 28)
    out[0, y0:y0 + size[0], x0:x0 + size[1]] = small
    return out
''',
}
