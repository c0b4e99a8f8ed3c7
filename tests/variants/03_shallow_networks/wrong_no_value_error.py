"""Wrong: ShallowNet and make_sequential fall back to ReLU for an unknown activation name
instead of raising the ValueError the exercise asks for."""

MUST_FAIL = ["test_shallow_net_rejects_unknown_activation", "test_sequential_structure"]
CELLS = {
    "shallow_net": '''class ShallowNet(nn.Module):
    """Linear -> activation -> Linear; the output is a vector of logits."""

    def __init__(self, in_features, hidden, out_features, activation="relu"):
        super().__init__()
        activations = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
        self.hidden = nn.Linear(in_features, hidden)
        self.activation = activations.get(activation, nn.ReLU)()
        self.output = nn.Linear(hidden, out_features)

    def forward(self, x):
        return self.output(self.activation(self.hidden(x)))
''',
    "make_sequential": '''def make_sequential(in_features, hidden, out_features, activation="relu"):
    """ShallowNet as an nn.Sequential: Linear, activation module, Linear."""
    activations = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
    return nn.Sequential(nn.Linear(in_features, hidden), activations.get(activation, nn.ReLU)(),
                         nn.Linear(hidden, out_features))
''',
}
