"""Wrong: fit_curves puts the L2 penalty into the loss by hand and records the penalised
training loss (the exercise asks for the loss without the penalty)."""

MUST_FAIL = ["test_fit_curves_recipe"]
CELLS = {
    "fit_curves": '''def fit_curves(hidden_sizes, weight_decay, data, epochs=500, lr=0.03, seed=0):
    """Per-epoch training and validation losses of ShallowNet(2, h, 2, "relu") for each width h."""
    x_train, y_train, x_val, y_val = data
    train_losses = torch.zeros(len(hidden_sizes), epochs)
    val_losses = torch.zeros(len(hidden_sizes), epochs)
    loss_fn = nn.CrossEntropyLoss()
    for i, h in enumerate(hidden_sizes):
        torch.manual_seed(seed)
        model = ShallowNet(2, h, 2, "relu")
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        for epoch in range(epochs):
            with torch.no_grad():
                val_losses[i, epoch] = loss_fn(model(x_val), y_val)
            optimizer.zero_grad()
            penalty = sum((p ** 2).sum() for p in model.parameters())
            loss = loss_fn(model(x_train), y_train) + weight_decay / 2 * penalty
            loss.backward()
            optimizer.step()
            train_losses[i, epoch] = loss.item()
    return train_losses, val_losses
''',
}
