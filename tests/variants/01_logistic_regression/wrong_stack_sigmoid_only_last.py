"""Wrong: LogisticStack applies the sigmoid only after the last layer (right shapes, right
parameter count, outputs in (0, 1): only its function tells)."""

MUST_FAIL = ["test_stack_forward"]
CELLS = {
    "logistic_stack": '''class LogisticStack(nn.Module):
    """Linear + sigmoid layers for each consecutive pair in `sizes`."""

    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return torch.sigmoid(x)
''',
}
