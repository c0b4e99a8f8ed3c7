"""Wrong: bce_with_logits through the probabilities, binary_cross_entropy(sigmoid(z), y): right
for moderate logits, stuck at the clamp (and a nan gradient) once sigmoid saturates."""

MUST_FAIL = ["test_bce_with_logits_matches", "test_bce_with_logits_gradient"]
CELLS = {
    "bce_with_logits": """def bce_with_logits(z, y):
    return binary_cross_entropy(torch.sigmoid(z), y)
""",
}
