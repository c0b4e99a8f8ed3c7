"""Wrong: ECE takes the probability of the true label as the confidence, not the top probability."""

MUST_FAIL = ["test_ece_matches_reference", "test_ece_extremes"]
CELLS = {
    "calibration": '''def expected_calibration_error(probs, labels, bins=15):
    """ECE of class probabilities (N, K) against true labels (N,), with `bins` equal-width bins."""
    probs = probs.double()
    confidence = probs.gather(1, labels.long().view(-1, 1)).squeeze(1)
    correct = (probs.argmax(dim=1) == labels).double()
    index = (confidence * bins).ceil().long().clamp(1, bins) - 1
    conf_sum = torch.bincount(index, weights=confidence, minlength=bins)
    acc_sum = torch.bincount(index, weights=correct, minlength=bins)
    return float((acc_sum - conf_sum).abs().sum() / len(labels))
''',
}
