"""Alternative: conv2d through F.unfold and one matrix product; max_pool2d through
Tensor.unfold; output sizes with math.floor/math.ceil; SimpleCNN with one ReLU and one
pooling module, each called twice."""

MUST_FAIL: list[str] = []
CELLS = {
    "output_sizes": '''def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """Output size of nn.Conv2d along one dimension of length `size`."""
    return math.floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1)


def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Output size of nn.MaxPool2d along one dimension; stride=None means stride=kernel_size."""
    stride = kernel_size if stride is None else stride
    exact = (size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1
    if not ceil_mode:
        return math.floor(exact)
    out = math.ceil(exact)
    if (out - 1) * stride >= size + padding:
        out -= 1
    return out
''',
    "conv2d": '''def conv2d(x, weight, bias, stride=1, padding=0):
    """2-D cross-correlation of a batch x with filters weight, plus bias (like F.conv2d)."""
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)        # (n, c_in*kh*kw, L)
    out = weight.reshape(c_out, -1) @ cols + bias.reshape(1, c_out, 1)  # (n, c_out, L)
    h_out = (h + 2 * padding - kh) // stride + 1
    w_out = (w + 2 * padding - kw) // stride + 1
    return out.reshape(n, c_out, h_out, w_out)
''',
    "max_pool2d": '''def max_pool2d(x, kernel_size, stride=None):
    """Max over kernel_size x kernel_size windows moved by stride (like F.max_pool2d)."""
    stride = stride or kernel_size
    windows = x.unfold(2, kernel_size, stride).unfold(3, kernel_size, stride)
    return windows.amax(dim=(-1, -2))
''',
    "simple_cnn": '''class SimpleCNN(nn.Module):
    """(conv 3x3 -> ReLU -> max-pool 2) x 2, then a linear layer: logits for 28x28 images."""

    def __init__(self, in_channels=1, num_classes=10):
        super().__init__()
        self.conv_a = nn.Conv2d(in_channels, 8, 3, padding=1)
        self.conv_b = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)  # one module, called twice
        self.relu = nn.ReLU()
        self.out = nn.Linear(784, num_classes)

    def forward(self, x):
        x = self.pool(self.relu(self.conv_a(x)))
        x = self.pool(self.relu(self.conv_b(x)))
        return self.out(x.flatten(start_dim=1))
''',
}
