"""Wrong: time_op has no untimed warm-up call: the first (slow) call is one of the timed ones."""

MUST_FAIL = ["test_time_op_median_without_warm_up"]
EDITS = {
    "cuda_tools": [
        ("    fn()  # warm-up: kernel loading, allocation, cudnn's algorithm search\n", ""),
        ("for _ in range(repeats):", "for _ in range(repeats + 1):"),
    ]
}
