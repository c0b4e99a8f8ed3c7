"""Wrong: gradient_norms lists the layers last to first, and find_nonfinite never looks at the
gradients (only the parameters and the loss)."""

MUST_FAIL = [
    "test_gradient_norms_values",
    "test_gradient_norms_no_side_effects",
    "test_find_nonfinite_gradients",
]
EDITS = {
    "gradient_norms": [
        (
            "return [g.norm().item() for g in grads]",
            "return [g.norm().item() for g in reversed(grads)]",
        ),
    ],
    "debug_checks": [
        (
            '            return name + ".grad"\n',
            "            pass\n",
        ),
    ],
}
