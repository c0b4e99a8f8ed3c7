"""Wrong: every function ignores its inputs and returns a fixed, well-typed value of the right
shape; SoftmaxRegression has the right layer but its forward returns zeros."""

MUST_FAIL = "all"
CELLS = {
    "softmax": """def softmax(z):
    return torch.full(z.shape, 0.25)
""",
    "one_hot": """def one_hot(y, num_classes):
    return torch.zeros(len(y), num_classes)
""",
    "categorical_cross_entropy": """def categorical_cross_entropy(logits, y):
    return torch.tensor(1.0, requires_grad=True)
""",
    "softmax_regression": """class SoftmaxRegression(nn.Module):
    def __init__(self, in_features, num_classes):
        super().__init__()
        self.linear = nn.Linear(in_features, num_classes)
        self.num_classes = num_classes

    def forward(self, x):
        return torch.zeros(x.shape[0], self.num_classes, device=x.device)


def predict(model, x):
    return torch.zeros(len(x), dtype=torch.int64)
""",
    "parameters": """def count_trainable(model):
    return 0


def freeze_bias(model):
    return []
""",
    "train_softmax": """def train_softmax(model, x, y, lr, epochs):
    return [1.0] * epochs
""",
    "decision_regions": """def decision_regions(model, xs, ys):
    return torch.zeros(len(ys), len(xs), dtype=torch.int64)
""",
    "train_epoch": """def train_epoch(model, loader, optimizer):
    return 1.0
""",
}
