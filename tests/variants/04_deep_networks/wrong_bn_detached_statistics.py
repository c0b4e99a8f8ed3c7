"""Wrong: BatchNorm1d computes the batch mean and variance under no_grad, so no gradient flows
through them (the outputs are right, the gradients are not)."""

MUST_FAIL = ["test_bn_training_outputs"]
EDITS = {
    "batch_norm": [
        (
            "            mean = x.mean(dim=0)\n"
            "            var = ((x - mean) ** 2).mean(dim=0)  # biased: used to normalize\n"
            "            with torch.no_grad():\n",
            "            with torch.no_grad():\n"
            "                mean = x.mean(dim=0)\n"
            "                var = ((x - mean) ** 2).mean(dim=0)\n",
        )
    ]
}
