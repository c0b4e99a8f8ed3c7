"""Wrong: ShallowNet with two hidden layers (Linear, act, Linear, act, Linear): not the exercise."""

MUST_FAIL = ["test_shallow_net_forward", "test_shallow_net_structure"]
CELLS = {
    "shallow_net": '''class ShallowNet(nn.Module):
    """Linear -> activation -> Linear; the output is a vector of logits."""

    def __init__(self, in_features, hidden, out_features, activation="relu"):
        super().__init__()
        activations = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
        if activation not in activations:
            raise ValueError(f"unknown activation {activation!r}")
        self.net = nn.Sequential(nn.Linear(in_features, hidden), activations[activation](),
                                 nn.Linear(hidden, hidden), activations[activation](),
                                 nn.Linear(hidden, out_features))

    def forward(self, x):
        return self.net(x)
''',
}
