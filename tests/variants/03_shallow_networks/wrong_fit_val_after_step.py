"""Wrong: fit_curves records the validation loss after the step instead of before it, and reseeds
only once for all widths."""

MUST_FAIL = ["test_fit_curves_recipe"]
CELLS = {
    "fit_curves": '''def fit_curves(hidden_sizes, weight_decay, data, epochs=500, lr=0.03, seed=0):
    """Per-epoch training and validation losses of ShallowNet(2, h, 2, "relu") for each width h."""
    x_train, y_train, x_val, y_val = data
    train_losses = torch.zeros(len(hidden_sizes), epochs)
    val_losses = torch.zeros(len(hidden_sizes), epochs)
    loss_fn = nn.CrossEntropyLoss()
    torch.manual_seed(seed)
    for i, h in enumerate(hidden_sizes):
        model = ShallowNet(2, h, 2, "relu")
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        for epoch in range(epochs):
            optimizer.zero_grad()
            loss = loss_fn(model(x_train), y_train)
            loss.backward()
            optimizer.step()
            train_losses[i, epoch] = loss.item()
            with torch.no_grad():
                val_losses[i, epoch] = loss_fn(model(x_val), y_val)
    return train_losses, val_losses
''',
}
