"""Wrong: BasicBlock puts its stride on the second 3×3 convolution instead of the first (same
shapes and parameter count, another function)."""

MUST_FAIL = ["test_resnet18_computes_torchvision_function"]
CELLS = {
    "basic_block": '''class BasicBlock(nn.Module):
    """ReLU(F(x) + shortcut(x)); the shortcut is skipped when self.use_shortcut is False."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.use_shortcut = True
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.use_shortcut:
            out = out + self.shortcut(x)
        return F.relu(out)
''',
}
