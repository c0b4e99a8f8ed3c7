"""Wrong: DeepNet puts batch norm after the activation (Linear -> act -> BatchNorm1d -> Dropout):
same shapes and parameter count, another function."""

MUST_FAIL = ["test_deepnet_layer_order", "test_deepnet_forward"]
CELLS = {
    "deep_net": '''class DeepNet(nn.Module):
    """An MLP: hidden layers Linear -> [BatchNorm1d] -> activation -> [Dropout], then a last Linear."""

    def __init__(self, sizes, activation="relu", dropout=0.0, batch_norm=False):
        super().__init__()
        layers = []
        for l in range(1, len(sizes)):
            layers.append(nn.Linear(sizes[l - 1], sizes[l]))
            if l == len(sizes) - 1:
                break
            layers.append(ACTIVATIONS[activation]())
            if batch_norm:
                layers.append(nn.BatchNorm1d(sizes[l]))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
''',
}
