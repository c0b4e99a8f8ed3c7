"""Wrong: class_weights returns float64 and balanced_accuracy a 0-d tensor (the exercise fixes
float32 and a Python float)."""

MUST_FAIL = ["test_class_weights", "test_balanced_accuracy", "test_balanced_accuracy_absent_class"]
CELLS = {
    "class_balance": '''def class_weights(y, num_classes=None):
    """Inverse-frequency class weights N / (C * n_c), float32, shape (C,)."""
    C = int(y.max()) + 1 if num_classes is None else num_classes
    counts = torch.bincount(y, minlength=C).double()
    return len(y) / (C * counts)


def balanced_accuracy(preds, y):
    """Mean over the classes present in y of the fraction of that class predicted correctly."""
    recalls = [(preds[y == c] == c).float().mean() for c in torch.unique(y)]
    return torch.stack(recalls).mean()
''',
}
