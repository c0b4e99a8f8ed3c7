"""Wrong: initial_loss_ok compares with ln 2 whatever the number of classes, and overfit_one_batch
trains the model in whatever mode it is in (no model.train())."""

MUST_FAIL = [
    "test_initial_loss_ok",
    "test_overfit_one_batch",
]
EDITS = {
    "debug_checks": [
        (
            "return abs(loss - math.log(num_classes)) <= tol * math.log(num_classes)",
            "return abs(loss - math.log(2)) <= tol * math.log(2)",
        ),
        (
            "    model.train()\n",
            "",
        ),
    ],
}
