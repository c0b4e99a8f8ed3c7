"""Wrong: make_sequential puts the activation after the last layer too (outputs are not logits)."""

MUST_FAIL = ["test_sequential_structure", "test_sequential_matches_shallow_net"]
CELLS = {
    "make_sequential": '''def make_sequential(in_features, hidden, out_features, activation="relu"):
    """ShallowNet as an nn.Sequential: Linear, activation module, Linear."""
    activations = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
    if activation not in activations:
        raise ValueError(f"unknown activation {activation!r}")
    return nn.Sequential(nn.Linear(in_features, hidden), activations[activation](),
                         nn.Linear(hidden, out_features), activations[activation]())
''',
}
