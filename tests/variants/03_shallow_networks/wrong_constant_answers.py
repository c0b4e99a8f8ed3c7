"""Wrong: every function returns a fixed value of the right type and shape, every model returns a
fixed tensor of the right shape (with parameters of the right shapes): must score 0."""

MUST_FAIL = "all"
CELLS = {
    "shallow_net": '''class ShallowNet(nn.Module):
    """Linear -> activation -> Linear; the output is a vector of logits."""

    def __init__(self, in_features, hidden, out_features, activation="relu"):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.activation = nn.ReLU()
        self.output = nn.Linear(hidden, out_features)
        self.out_features = out_features

    def forward(self, x):
        return torch.zeros(x.shape[0], self.out_features)
''',
    "make_sequential": '''class _Fixed(nn.Sequential):
    def forward(self, x):
        return torch.zeros(x.shape[0], self[2].out_features)


def make_sequential(in_features, hidden, out_features, activation="relu"):
    """ShallowNet as an nn.Sequential: Linear, activation module, Linear."""
    act = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh}.get(activation, nn.ReLU)()
    return _Fixed(nn.Identity(), act, nn.Linear(hidden, out_features))
''',
    "forward_backward": '''def forward_backward(x, y, W1, b1, W2, b2, loss="mse"):
    """Loss and gradients of a sigmoid-sigmoid network, by the chain rule (no autograd)."""
    grads = {"W1": torch.zeros_like(W1), "b1": torch.zeros_like(b1), "W2": torch.zeros_like(W2),
             "b2": torch.zeros_like(b2)}
    return torch.tensor(0.25, dtype=x.dtype), grads
''',
    "train_xor": '''def train_xor(hidden, epochs, seed):
    """A tanh ShallowNet(2, hidden, 1) trained on 200 noisy XOR points; outputs logits."""
    return ShallowNet(2, hidden, 1, "tanh")
''',
    "layer_gradient_norms": '''def layer_gradient_norms(model, x, y):
    """Norm of dL/dW for each nn.Linear weight, first to last, for L = mse(model(x), y)."""
    return [1.0 for m in model.modules() if isinstance(m, nn.Linear)]
''',
    "fit_curves": '''def fit_curves(hidden_sizes, weight_decay, data, epochs=500, lr=0.03, seed=0):
    """Per-epoch training and validation losses of ShallowNet(2, h, 2, "relu") for each width h."""
    return torch.full((len(hidden_sizes), epochs), 0.5), torch.full((len(hidden_sizes), epochs), 0.6)
''',
    "class_balance": '''def class_weights(y, num_classes=None):
    """Inverse-frequency class weights N / (C * n_c), float32, shape (C,)."""
    C = int(y.max()) + 1 if num_classes is None else num_classes
    return torch.ones(C, dtype=torch.float32)


def balanced_accuracy(preds, y):
    """Mean over the classes present in y of the fraction of that class predicted correctly."""
    return 0.5
''',
    "mnist_model": """x_train, y_train = load_mnist("train", normalize=True, flatten=True)
mnist_model = ShallowNet(784, 256, 10, "relu")
""",
    "numerical_gradient": '''def numerical_gradient(f, x, eps=1e-6):
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), one entry at a time."""
    return torch.zeros_like(x)
''',
    "fit_1d": '''class _Flat(nn.Sequential):
    def forward(self, x):
        return torch.zeros(x.shape[0], 1)


def fit_1d(hidden, x, y, epochs, seed):
    """One hidden layer of `hidden` ReLU units fitted to (x, y) by full-batch Adam on the MSE."""
    return _Flat(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, 1))
''',
    "width_for_budget": '''def width_for_budget(n_in, n_out, budget, depth):
    """The largest width w with P(w) <= budget for `depth` hidden layers (biases included)."""
    return 10
''',
}
