"""Wrong: softmax subtracts the maximum of the whole batch, not of each row: rows far below the
largest logit underflow to 0/0."""

MUST_FAIL = ["test_softmax_is_stable"]
CELLS = {
    "softmax": """def softmax(z):
    e = torch.exp(z - z.max())
    return e / e.sum(dim=1, keepdim=True)
""",
}
