"""Alternative: receptive_field by the backward recursion r = s·(r - 1) + d·(k - 1) + 1 from
the last layer down; to_device with torch.utils._pytree.tree_map (tuples stay tuples);
time_op with perf_counter_ns and a sorted list; BasicBlock that builds and calls its shortcut
first, with nn.ReLU modules; ResNet18 with named stages and a functional stem."""

MUST_FAIL: list[str] = []
CELLS = {
    "receptive_field": '''def receptive_field(layers):
    """Receptive field (input pixels along one axis) of one output unit of a stack of
    (kernel_size, stride, dilation) layers."""
    field = 1
    for kernel_size, stride, dilation in reversed(list(layers)):
        field = stride * (field - 1) + dilation * (kernel_size - 1) + 1
    return int(field)
''',
    "cuda_tools": '''import statistics
import time

import torch.utils._pytree as pytree


def time_op(fn, device, repeats=10):
    """Median wall time (seconds) of fn() over `repeats` calls after one warm-up call; waits for
    CUDA to finish before starting and before stopping each clock."""
    cuda = torch.device(device).type == "cuda"
    fn()
    samples = []
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize(device)
        t0 = time.perf_counter_ns()
        fn()
        if cuda:
            torch.cuda.synchronize(device)
        samples.append((time.perf_counter_ns() - t0) / 1e9)
    samples.sort()
    middle = len(samples) // 2
    return samples[middle] if len(samples) % 2 else (samples[middle - 1] + samples[middle]) / 2


def to_device(batch, device, non_blocking=False):
    """`batch` with every tensor (nested in lists, tuples and dicts) moved to `device`."""
    return pytree.tree_map(lambda v: v.to(device, non_blocking=non_blocking) if torch.is_tensor(v) else v, batch)
''',
    "basic_block": '''class BasicBlock(nn.Module):
    """ReLU(F(x) + shortcut(x)); the shortcut is skipped when self.use_shortcut is False."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.use_shortcut = True
        self.project = stride != 1 or in_channels != out_channels
        if self.project:
            self.proj_conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)
            self.proj_bn = nn.BatchNorm2d(out_channels)
        self.branch = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False), nn.BatchNorm2d(out_channels))
        self.act = nn.ReLU()

    def forward(self, x):
        skip = self.proj_bn(self.proj_conv(x)) if self.project else x
        out = self.branch(x)
        return self.act(out + skip) if self.use_shortcut else self.act(out)
''',
    "resnet18": '''class ResNet18(nn.Module):
    """ResNet-18 (torchvision layout) built from BasicBlock: logits of shape (N, num_classes)."""

    def __init__(self, num_classes=10, in_channels=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), kernel_size=3, stride=2, padding=1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean(dim=(2, 3)))
''',
}
