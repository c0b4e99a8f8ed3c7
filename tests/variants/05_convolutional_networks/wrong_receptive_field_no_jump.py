"""Wrong: receptive_field adds (k - 1)·d per layer but forgets that earlier strides multiply it."""

MUST_FAIL = ["test_receptive_field_matches_backpropagation"]
CELLS = {
    "receptive_field": '''def receptive_field(layers):
    """Receptive field (input pixels along one axis) of one output unit of a stack of
    (kernel_size, stride, dilation) layers."""
    return 1 + sum((kernel_size - 1) * dilation for kernel_size, stride, dilation in layers)
''',
}
