"""Alternative: fit_1d with a hand-written module class holding the two nn.Linear layers, the MSE
written out, model.zero_grad(); width_for_budget from the quadratic formula, made exact with
integer corrections."""

MUST_FAIL: list[str] = []
CELLS = {
    "fit_1d": '''class OneHidden(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.first = nn.Linear(1, hidden)
        self.second = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.second(torch.clamp(self.first(x), min=0))


def fit_1d(hidden, x, y, epochs, seed):
    """One hidden layer of `hidden` ReLU units fitted to (x, y) by full-batch Adam on the MSE."""
    torch.manual_seed(seed)
    model = OneHidden(hidden).to(x.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    for epoch in range(epochs):
        model.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    return model.eval()
''',
    "width_for_budget": '''def width_for_budget(n_in, n_out, budget, depth):
    """The largest width w with P(w) <= budget for `depth` hidden layers (biases included)."""
    if depth < 1:
        raise ValueError("depth < 1")
    # P(w) = a w^2 + b w + c
    a, b, c = depth - 1, n_in + 1 + n_out + (depth - 1), n_out
    count = lambda w: a * w * w + b * w + c
    if a == 0:
        w = (budget - c) // b
    else:
        w = int((-b + math.sqrt(b * b + 4 * a * (budget - c))) / (2 * a)) if budget >= c else 0
    while w > 0 and count(w) > budget:
        w -= 1
    while count(w + 1) <= budget:
        w += 1
    if w < 1:
        raise ValueError(f"budget {budget} is too small")
    return int(w)
''',
}
