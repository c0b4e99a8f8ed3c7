"""Wrong: ResNet18's stem has no max-pool (same parameters, outputs of the right shape)."""

MUST_FAIL = ["test_resnet18_computes_torchvision_function"]
EDITS = {
    "resnet18": [
        (
            "nn.ReLU(),\n            nn.MaxPool2d(3, stride=2, padding=1),\n        )",
            "nn.ReLU())",
        )
    ]
}
