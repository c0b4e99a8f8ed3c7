"""Wrong: ResNet18's second stage does not downsample (stride 1; the projection still exists
because the channels change, so the parameter count is right)."""

MUST_FAIL = ["test_resnet18_computes_torchvision_function"]
EDITS = {"resnet18": [("(128, 2)", "(128, 1)")]}
