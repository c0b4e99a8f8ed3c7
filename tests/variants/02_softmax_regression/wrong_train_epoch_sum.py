"""Wrong: train_epoch returns the sum of the batch losses, not their mean."""

MUST_FAIL = ["test_train_epoch"]
CELLS = {
    "train_epoch": """def train_epoch(model, loader, optimizer):
    device = next(model.parameters()).device
    total = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = categorical_cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total
""",
}
