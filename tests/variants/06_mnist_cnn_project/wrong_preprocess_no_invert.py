"""Wrong: preprocess_digit forgets to invert the photo (dark ink stays dark, paper bright)."""

MUST_FAIL = ["test_preprocess_digit_is_mnist_like", "test_preprocess_digit_keeps_accuracy"]
CELLS = {
    "preprocess": '''def preprocess_digit(image):
    """A grey image (H, W), dark ink on light paper -> an MNIST-style (1, 28, 28) float32 tensor."""
    x = torch.as_tensor(image, dtype=torch.float32)
    return F.interpolate(x[None, None], size=(28, 28), mode="bilinear", antialias=True)[0].clamp(0, 1)
''',
}
