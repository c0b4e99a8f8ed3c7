"""Wrong: every function returns a fixed answer of the right type and shape, whatever its input
(the classes have their layers, with parameters of the right shapes, but forward returns a
fixed tensor)."""

MUST_FAIL = "all"
CELLS = {
    "output_sizes": '''def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """Output size of nn.Conv2d along one dimension of length `size`."""
    return 1


def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Output size of nn.MaxPool2d along one dimension; stride=None means stride=kernel_size."""
    return 1
''',
    "conv2d": '''def conv2d(x, weight, bias, stride=1, padding=0):
    """2-D cross-correlation of a batch x with filters weight, plus bias (like F.conv2d)."""
    h = (x.shape[2] + 2 * padding - weight.shape[2]) // stride + 1
    w = (x.shape[3] + 2 * padding - weight.shape[3]) // stride + 1
    return torch.zeros(x.shape[0], weight.shape[0], h, w)
''',
    "max_pool2d": '''def max_pool2d(x, kernel_size, stride=None):
    """Max over kernel_size x kernel_size windows moved by stride (like F.max_pool2d)."""
    stride = stride or kernel_size
    return torch.zeros(x.shape[0], x.shape[1], (x.shape[2] - kernel_size) // stride + 1,
                       (x.shape[3] - kernel_size) // stride + 1)
''',
    "simple_cnn": '''class SimpleCNN(nn.Module):
    """(conv 3x3 -> ReLU -> max-pool 2) x 2, then a linear layer: logits for 28x28 images."""

    def __init__(self, in_channels=1, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * 7 * 7, num_classes))
        self.num_classes = num_classes

    def forward(self, x):
        return torch.zeros(len(x), self.num_classes) + 0 * self.classifier[1].bias
''',
    "activation_shapes": '''def activation_shapes(model, x):
    """Output shapes of model's leaf modules, one per call, in call order, for the input x."""
    return [(1, 8, 28, 28)]
''',
    "receptive_field": '''def receptive_field(layers):
    """Receptive field (input pixels along one axis) of one output unit of a stack of
    (kernel_size, stride, dilation) layers."""
    return 1
''',
    "get_device": '''def get_device():
    """The device to train on: CUDA when available, else the CPU."""
    return torch.device("cpu")
''',
    "cuda_tools": '''def time_op(fn, device, repeats=10):
    """Median wall time (seconds) of fn() over `repeats` calls after one warm-up call; waits for
    CUDA to finish before starting and before stopping each clock."""
    return 0.01


def to_device(batch, device, non_blocking=False):
    """`batch` with every tensor (nested in lists, tuples and dicts) moved to `device`."""
    return batch
''',
    "basic_block": '''class BasicBlock(nn.Module):
    """ReLU(F(x) + shortcut(x)); the shortcut is skipped when self.use_shortcut is False."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.use_shortcut = True
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()
        self.shape = (out_channels, stride)

    def forward(self, x):
        c, s = self.shape
        return torch.zeros(len(x), c, (x.shape[2] - 1) // s + 1, (x.shape[3] - 1) // s + 1) + 0 * self.bn2.bias.sum()
''',
    "resnet18": '''class ResNet18(nn.Module):
    """ResNet-18 (torchvision layout) built from BasicBlock: logits of shape (N, num_classes)."""

    def __init__(self, num_classes=10, in_channels=3):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        blocks, channels = [], 64
        for width, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            blocks += [BasicBlock(channels, width, stride), BasicBlock(width, width)]
            channels = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        return torch.zeros(len(x), self.fc.out_features) + 0 * self.fc.bias
''',
}
