"""Alternative: MNISTNet with its layers as attributes and F.max_pool2d/F.relu in forward; train
with a hand-rolled batch loop, zero_grad(set_to_none=True) and a checkpoint of cloned tensors;
evaluate under inference_mode with a running sum on the device; save/load through a dict with
the state under a key; confusion_matrix with index_put_(accumulate=True)."""

MUST_FAIL: list[str] = []
CELLS = {
    "mnistnet": '''class MNISTNet(nn.Module):
    """A small CNN with batch normalization and dropout: raw (N, 1, 28, 28) images -> (N, 10) logits."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.drop = nn.Dropout(p=0.25)
        self.fc = nn.Linear(576, 10)

    def forward(self, x):
        x = (x - MNIST_MEAN) / MNIST_STD  # the model normalises its own input: pass raw [0, 1] pixels
        for conv, bn in ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3)):
            x = F.relu(bn(F.max_pool2d(conv(x), 2)))
        return self.fc(self.drop(torch.flatten(x, 1)))
''',
    "training": '''def evaluate(model, images, labels, batch_size=2000):
    """Fraction of images (raw, as load_mnist returns them) whose argmax prediction equals the label."""
    model.eval()
    where = next(model.parameters()).device
    hits = torch.zeros((), dtype=torch.long, device=where)
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            xb = images[start:start + batch_size].to(where)
            yb = labels[start:start + batch_size].to(where)
            hits += (model(xb).argmax(1) == yb).sum()
    return hits.item() / len(images)


def train(model, train_data, val_data, epochs, batch_size=128, max_lr=3e-3, weight_decay=1e-4,
          augment=True, seed=0):
    """Train with AdamW and a one-cycle schedule; validate every epoch; keep the best weights."""
    where = next(model.parameters()).device
    x_all, y_all = train_data[0].to(where), train_data[1].to(where)
    n = len(x_all)
    g = torch.Generator().manual_seed(seed)
    steps = epochs * ((n + batch_size - 1) // batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=max_lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=steps)
    history = {"train_loss": [], "val_accuracy": []}
    best, snapshot = None, None
    bar = tqdm(total=steps, mininterval=5)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=g).to(where)
        running = torch.zeros((), device=where)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            xb, yb = x_all[idx], y_all[idx]
            if augment:
                xb = random_shift(xb, generator=g)
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            running += loss.detach() * len(idx)
            bar.update()
        acc = evaluate(model, *val_data)
        history["train_loss"].append(running.item() / n)
        history["val_accuracy"].append(acc)
        if best is None or acc > best:
            best = acc
            snapshot = {k: v.detach().clone() for k, v in model.state_dict().items()}
    bar.close()
    model.load_state_dict(snapshot)
    return history
''',
    "confusion_matrix": '''def confusion_matrix(preds, labels, num_classes=10):
    """C[i, j] = number of samples of true class i predicted as class j."""
    matrix = torch.zeros((num_classes, num_classes), dtype=torch.int64)
    ones = torch.ones(len(preds), dtype=torch.int64)
    matrix.index_put_((labels.cpu().long(), preds.cpu().long()), ones, accumulate=True)
    return matrix
''',
    "save_load": '''def save_model(model, path):
    """Write the model's learned state (parameters and buffers) to `path`."""
    torch.save({"format": 1, "state": {k: v.cpu() for k, v in model.state_dict().items()}}, path)


def load_model(path):
    """A new MNISTNet on `device`, in eval mode, with the state saved at `path`."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    fresh = MNISTNet()
    fresh.load_state_dict(saved["state"])
    fresh.to(device)
    fresh.eval()
    return fresh
''',
}
