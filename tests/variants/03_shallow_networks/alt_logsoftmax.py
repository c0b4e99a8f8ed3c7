"""Alternative: a ShallowNet whose activation comes from getattr(nn, ...), a backprop written
with explicit transposes and keepdim sums, log_softmax + nll_loss in fit_curves."""

MUST_FAIL: list[str] = []
CELLS = {
    "shallow_net": '''class ShallowNet(nn.Module):
    """Linear -> activation -> Linear; the output is a vector of logits."""

    NAMES = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU"}

    def __init__(self, in_features, hidden, out_features, activation="relu"):
        super().__init__()
        if activation not in self.NAMES:
            raise ValueError("activation should be 'sigmoid', 'tanh' or 'relu'")
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, out_features)
        self.act = getattr(nn, self.NAMES[activation])()

    def forward(self, x):
        h = self.act(self.fc1(x))
        return self.fc2(h)
''',
    "forward_backward": '''def forward_backward(x, y, W1, b1, W2, b2, loss="mse"):
    """Loss and gradients of a sigmoid-sigmoid network, by the chain rule (no autograd)."""
    Z1 = torch.matmul(x, W1.t()) + b1.unsqueeze(0)
    A1 = torch.sigmoid(Z1)
    Z2 = torch.matmul(A1, W2.t()) + b2.unsqueeze(0)
    Yh = torch.sigmoid(Z2)
    N, k = y.shape
    if loss == "mse":
        L = torch.mean(torch.square(Yh - y))
        G2 = (2.0 / (N * k)) * (Yh - y) * Yh * (1.0 - Yh)
    else:
        L = -torch.mean(y * torch.log(Yh) + (1.0 - y) * torch.log1p(-Yh))
        G2 = (Yh - y) / (N * k)
    GA1 = torch.matmul(G2, W2)
    G1 = GA1 * A1 * (1.0 - A1)
    return L, {"W1": torch.matmul(G1.t(), x), "b1": G1.sum(0, keepdim=True).squeeze(0),
               "W2": torch.matmul(G2.t(), A1), "b2": G2.sum(0, keepdim=True).squeeze(0)}
''',
    "fit_curves": '''def fit_curves(hidden_sizes, weight_decay, data, epochs=500, lr=0.03, seed=0):
    """Per-epoch training and validation losses of ShallowNet(2, h, 2, "relu") for each width h."""
    x_train, y_train, x_val, y_val = data
    shape = (len(hidden_sizes), epochs)
    train_losses, val_losses = torch.empty(shape), torch.empty(shape)
    for row, h in enumerate(hidden_sizes):
        torch.manual_seed(seed)
        model = ShallowNet(2, h, 2, "relu")
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        for epoch in range(epochs):
            with torch.no_grad():
                val_losses[row, epoch] = F.nll_loss(F.log_softmax(model(x_val), dim=1), y_val)
            loss = F.nll_loss(F.log_softmax(model(x_train), dim=1), y_train)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            train_losses[row, epoch] = loss.detach()
    return train_losses, val_losses
''',
}
