"""Wrong seeding: train_xor seeds the data but not the model (no torch.manual_seed), and fit_1d
seeds with 0 instead of `seed` (reproducible, but every seed gives the same model)."""

MUST_FAIL = [
    "test_train_xor_solves_xor",
    "test_fit_1d_recipe",
]
CELLS = {
    "train_xor": '''def train_xor(hidden, epochs, seed):
    """A tanh ShallowNet(2, hidden, 1) trained on 200 noisy XOR points; outputs logits."""
    x, y = make_xor(200, generator=torch.Generator().manual_seed(seed))
    model = ShallowNet(2, hidden, 1, "tanh")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    return model
''',
}
EDITS = {"fit_1d": [("torch.manual_seed(seed)", "torch.manual_seed(0)")]}
