"""Wrong: dropout multiplies x in place (x.mul_), changing the caller's tensor."""

MUST_FAIL = ["test_dropout_fraction", "test_dropout_rescales_survivors"]
CELLS = {
    "dropout": '''def dropout(x, p, training=True):
    """Inverted dropout: zero each entry with probability p, scale the rest by 1 / (1 - p)."""
    if not training:
        return x
    keep = (torch.rand_like(x) >= p).to(x.dtype)
    return x.mul_(keep).div_(1 - p)
''',
}
