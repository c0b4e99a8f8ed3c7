"""Wrong: to_device rebuilds every tuple as a list."""

MUST_FAIL = ["test_to_device_moves_nested_batches"]
EDITS = {
    "cuda_tools": [
        (
            "return type(batch)(to_device(value, device, non_blocking) for value in batch)",
            "return [to_device(value, device, non_blocking) for value in batch]",
        )
    ]
}
