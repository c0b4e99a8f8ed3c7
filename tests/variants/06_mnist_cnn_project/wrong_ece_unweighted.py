"""Wrong: ECE averages the bins' gaps without weighting them by their share of the predictions."""

MUST_FAIL = ["test_ece_matches_reference"]
CELLS = {
    "calibration": '''def expected_calibration_error(probs, labels, bins=15):
    """ECE of class probabilities (N, K) against true labels (N,), with `bins` equal-width bins."""
    confidence, predicted = probs.double().max(dim=1)
    correct = (predicted == labels).double()
    index = (confidence * bins).ceil().long().clamp(1, bins) - 1
    gaps = [(correct[index == b].mean() - confidence[index == b].mean()).abs()
            for b in range(bins) if (index == b).any()]
    return float(torch.stack(gaps).mean())
''',
}
