"""Wrong: preprocess_digit scales the crop to 20 × 20 whatever its shape (the aspect ratio is lost)."""

MUST_FAIL = ["test_preprocess_digit_is_mnist_like", "test_preprocess_digit_keeps_accuracy"]
EDITS = {
    "preprocess": [
        (
            "    scale = 20 / max(h, w)\n    size = (max(1, round(h * scale)), max(1, round(w * scale)))",
            "    size = (20, 20)  # both sides to 20: the aspect ratio is lost",
        )
    ]
}
