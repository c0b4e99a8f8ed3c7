"""Wrong: balanced_accuracy averages over range(C), so a class absent from y counts as recall 0;
class_weights uses the frequencies n_c / N instead of their inverse."""

MUST_FAIL = [
    "test_class_weights",
    "test_weighting_raises_minority_recall",
    "test_balanced_accuracy_absent_class",
]
CELLS = {
    "class_balance": '''def class_weights(y, num_classes=None):
    """Inverse-frequency class weights N / (C * n_c), float32, shape (C,)."""
    C = int(y.max()) + 1 if num_classes is None else num_classes
    return torch.bincount(y, minlength=C).float() / len(y)


def balanced_accuracy(preds, y):
    """Mean over the classes present in y of the fraction of that class predicted correctly."""
    C = int(max(preds.max(), y.max())) + 1
    total = 0.0
    for c in range(C):
        if (y == c).any():
            total += (preds[y == c] == c).float().mean().item()
    return total / C
''',
}
