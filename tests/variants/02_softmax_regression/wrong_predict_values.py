"""Wrong: predict returns the largest logit's value (max) instead of its index (argmax)."""

MUST_FAIL = ["test_predict_is_argmax"]
CELLS = {
    "softmax_regression": '''class SoftmaxRegression(nn.Module):
    """One linear layer from in_features inputs to num_classes logits."""

    def __init__(self, in_features, num_classes):
        super().__init__()
        self.linear = nn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.linear(x)


def predict(model, x):
    """Class indices (int64, shape (N,)) of the largest logit of model(x)."""
    with torch.no_grad():
        return model(x).max(dim=1).values
''',
}
