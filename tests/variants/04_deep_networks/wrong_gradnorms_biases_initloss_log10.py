"""Wrong: gradient_norms measures the biases' gradients instead of the weights', and
initial_loss_ok compares the loss with log10(K) instead of ln K."""

MUST_FAIL = [
    "test_gradient_norms_values",
    "test_gradient_norms_he_vs_small_uniform",
    "test_gradient_norms_no_side_effects",
    "test_initial_loss_ok",
]
EDITS = {
    "gradient_norms": [
        (
            "weights = [m.weight for",
            "weights = [m.bias for",
        ),
    ],
    "debug_checks": [
        (
            "return abs(loss - math.log(num_classes)) <= tol * math.log(num_classes)",
            "return abs(loss - math.log10(num_classes)) <= tol * math.log10(num_classes)",
        ),
    ],
}
