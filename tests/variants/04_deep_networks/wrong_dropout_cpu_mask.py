"""Wrong: dropout makes its mask on the CPU (torch.rand(x.shape)): it fails for inputs on a GPU."""

MUST_FAIL = ["test_dropout_fraction"]
CELLS = {
    "dropout": '''def dropout(x, p, training=True):
    """Inverted dropout: zero each entry with probability p, scale the rest by 1 / (1 - p)."""
    if not training:
        return x
    keep = (torch.rand(x.shape) >= p).to(x.dtype)
    return x * keep / (1 - p)
''',
}
