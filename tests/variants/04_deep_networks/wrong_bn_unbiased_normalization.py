"""Wrong: BatchNorm1d normalizes with the unbiased batch variance (x.var(0))."""

MUST_FAIL = ["test_bn_training_outputs"]
EDITS = {
    "batch_norm": [
        (
            "            n = x.shape[0]\n"
            "            mean = x.mean(dim=0)\n"
            "            var = ((x - mean) ** 2).mean(dim=0)  # biased: used to normalize\n",
            "            mean, var = x.mean(0), x.var(0)\n",
        ),
        ("self.momentum * var * n / (n - 1))", "self.momentum * var)"),
    ]
}
