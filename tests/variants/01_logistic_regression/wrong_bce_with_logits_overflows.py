"""Wrong: softplus written as log(1 + exp(z)): exp overflows to inf for z > 88."""

MUST_FAIL = ["test_bce_with_logits_matches", "test_bce_with_logits_gradient"]
CELLS = {
    "bce_with_logits": """def bce_with_logits(z, y):
    return (torch.log(1 + torch.exp(z)) - y * z).mean()
""",
}
