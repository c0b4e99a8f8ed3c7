"""Wrong: train_softmax records the loss after each step instead of before it."""

MUST_FAIL = ["test_train_softmax_gradient_steps"]
CELLS = {
    "train_softmax": """def train_softmax(model, x, y, lr, epochs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        optimizer.zero_grad()
        categorical_cross_entropy(model(x), y).backward()
        optimizer.step()
        with torch.no_grad():
            history.append(categorical_cross_entropy(model(x), y).item())
    return history
""",
}
