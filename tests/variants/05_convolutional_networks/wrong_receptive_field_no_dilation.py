"""Wrong: receptive_field ignores the dilation (a dilated kernel counted as a dense one)."""

MUST_FAIL = ["test_receptive_field_matches_backpropagation"]
CELLS = {
    "receptive_field": '''def receptive_field(layers):
    """Receptive field (input pixels along one axis) of one output unit of a stack of
    (kernel_size, stride, dilation) layers."""
    field, jump = 1, 1
    for kernel_size, stride, dilation in layers:
        field += (kernel_size - 1) * jump
        jump *= stride
    return field
''',
}
