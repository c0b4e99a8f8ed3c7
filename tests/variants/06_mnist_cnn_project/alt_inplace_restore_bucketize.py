"""Alternative: exports the live model (on its own device) after switching it to eval mode and
restores its mode afterwards; ECE with torch.bucketize; preprocessing that centres the bounding
box first and then moves the digit by its centre of mass with torch.roll (never far enough to wrap); latency with
torch.utils.benchmark; predict_proba through log_softmax under inference_mode."""

MUST_FAIL: list[str] = []
CELLS = {
    "predict": '''def predict_proba(model, images, batch_size=2000):
    """Softmax probabilities (N, 10), on the CPU, for raw images (N, 1, 28, 28)."""
    model.eval()
    where = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            logits = model(images[start:start + batch_size].to(where))
            out.append(F.log_softmax(logits.float(), dim=1).exp().cpu())
    return torch.cat(out)


def predict(model, images):
    """Predicted labels (N,) as int64."""
    return torch.argmax(predict_proba(model, images), dim=1).to(torch.int64)
''',
    "calibration": '''def expected_calibration_error(probs, labels, bins=15):
    """ECE of class probabilities (N, K) against true labels (N,), with `bins` equal-width bins."""
    confidence, predicted = torch.max(probs.detach().cpu().double(), dim=1)
    boundaries = torch.linspace(0, 1, bins + 1, dtype=torch.float64)[1:-1]
    which = torch.bucketize(confidence, boundaries, right=False)  # (b/B, (b+1)/B] -> b
    hits = predicted.eq(labels.cpu()).double()
    ece = torch.zeros((), dtype=torch.float64)
    for b in which.unique():
        mask = which == b
        ece += mask.double().mean() * (hits[mask].mean() - confidence[mask].mean()).abs()
    return ece.item()
''',
    "export": '''def export_model(model, path):
    """Write the model's eval-mode function (raw images (N, 1, 28, 28) -> logits) to the ONNX file `path`."""
    was_training = model.training
    where = next(model.parameters()).device
    model.eval()
    try:
        torch.onnx.export(model, (torch.rand(8, 1, 28, 28, device=where),), path, dynamo=True,
                          dynamic_shapes=({0: torch.export.Dim("n", min=1, max=65536)},))
    finally:
        model.train(was_training)
''',
    "preprocess": '''def preprocess_digit(image):
    """A grey image (H, W), dark ink on light paper -> an MNIST-style (1, 28, 28) float32 tensor."""
    x = torch.as_tensor(image).float()
    paper = x.flatten().quantile(0.5)
    ink = ((paper - x) / (paper - x.min()).clamp(min=1e-6)).clamp(0, 1)
    mask = ink > 0.45
    if not mask.any():
        return torch.zeros(1, 28, 28)
    ys, xs = mask.nonzero(as_tuple=True)
    crop = ink[max(int(ys.min()) - 1, 0):int(ys.max()) + 2, max(int(xs.min()) - 1, 0):int(xs.max()) + 2]
    crop = crop * (crop > 0.25)
    h, w = crop.shape
    if h >= w:
        size = (20, max(1, round(20 * w / h)))
    else:
        size = (max(1, round(20 * h / w)), 20)
    small = F.interpolate(crop[None, None], size=size, mode="area")[0, 0]
    out = torch.zeros(28, 28)
    top, left = (28 - size[0]) // 2, (28 - size[1]) // 2     # centre the box
    out[top:top + size[0], left:left + size[1]] = small
    grid = torch.arange(28, dtype=torch.float32)
    cy = (out.sum(dim=1) * grid).sum() / out.sum()
    cx = (out.sum(dim=0) * grid).sum() / out.sum()
    dy = min(max(int(round(14 - cy.item())), -top), 28 - top - size[0])   # keep the box inside
    dx = min(max(int(round(14 - cx.item())), -left), 28 - left - size[1])
    out = torch.roll(out, shifts=(dy, dx), dims=(0, 1))
    return out.clamp(0, 1).unsqueeze(0)
''',
    "metadata": '''import torch.utils.benchmark as benchmark


def _wilson(accuracy, n, z=1.96):
    spread = z * math.sqrt(accuracy * (1 - accuracy) / n + (z / (2 * n)) ** 2)
    return [(accuracy + z ** 2 / (2 * n) - spread) / (1 + z ** 2 / n),
            (accuracy + z ** 2 / (2 * n) + spread) / (1 + z ** 2 / n)]


def model_metadata(model, val_data, heldout_data, seed):
    """Facts about a trained classifier, as a JSON-ready dict (see the table above)."""
    accuracy = {}
    for name, (images, labels) in (("validation", val_data), ("heldout", heldout_data)):
        a = evaluate(model, images, labels)
        accuracy[name] = {"accuracy": float(a), "n": int(labels.numel()), "ci95": _wilson(a, labels.numel())}
    on_cpu = copy.deepcopy(model).cpu().eval()
    latency = {}
    for batch in (1, 256):
        timer = benchmark.Timer(stmt="with torch.no_grad(): m(x)",
                                globals={"m": on_cpu, "x": torch.rand(batch, 1, 28, 28), "torch": torch})
        latency[f"batch_{batch}"] = timer.timeit(5).median * 1000
    return {"input": {"shape": [1, 28, 28], "dtype": "float32", "range": [0.0, 1.0]},
            "normalisation": {"mean": MNIST_MEAN, "std": MNIST_STD},
            "class_names": [f"{k}" for k in range(10)],
            "n_parameters": int(sum(p.numel() for p in model.parameters())),
            "accuracy": accuracy, "latency_ms": latency, "torch_version": torch.__version__, "seed": seed}
''',
}
