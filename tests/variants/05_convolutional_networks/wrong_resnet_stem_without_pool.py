"""Wrong: ResNet18's stem has no max-pool (same parameters, outputs of the right shape)."""

MUST_FAIL = ["test_resnet18_computes_torchvision_function"]
CELLS = {
    "resnet18": '''class ResNet18(nn.Module):
    """ResNet-18 (torchvision layout) built from BasicBlock: logits of shape (N, num_classes)."""

    def __init__(self, num_classes=10, in_channels=3):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        blocks, channels = [], 64
        for width, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            blocks += [BasicBlock(channels, width, stride), BasicBlock(width, width)]
            channels = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))
''',
}
