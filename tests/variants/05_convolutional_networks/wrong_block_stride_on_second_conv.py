"""Wrong: BasicBlock puts its stride on the second 3×3 convolution instead of the first (same
shapes and parameter count, another function)."""

MUST_FAIL = ["test_resnet18_computes_torchvision_function"]
EDITS = {
    "basic_block": [
        (
            "nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)",
            "nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)",
        ),
        (
            "nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)",
            "nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1, bias=False)",
        ),
    ]
}
