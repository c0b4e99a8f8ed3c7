"""Wrong: LogisticRegression returns the logits (no sigmoid)."""

MUST_FAIL = ["test_output_shape_and_range", "test_is_linear_then_sigmoid"]
CELLS = {
    "logistic_regression": '''class LogisticRegression(nn.Module):
    """A single sigmoid neuron: p(y = 1 | x) = sigmoid(w·x + b)."""

    def __init__(self, in_features):
        super().__init__()
        self.linear = nn.Linear(in_features, 1)

    def forward(self, x):
        return self.linear(x)
''',
}
