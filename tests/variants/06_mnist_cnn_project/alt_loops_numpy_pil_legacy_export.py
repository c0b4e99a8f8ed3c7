"""Alternative: loops instead of bincount (confusion matrix, ECE), NumPy and Pillow for the
preprocessing (box-filter resize, np.argwhere), the legacy TorchScript ONNX exporter
(dynamo=False, dynamic_axes), and a Wald-free Wilson interval written from counts."""

MUST_FAIL: list[str] = []
CELLS = {
    "confusion_matrix": '''def confusion_matrix(preds, labels, num_classes=10):
    """C[i, j] = number of samples of true class i predicted as class j."""
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for p, t in zip(preds.tolist(), labels.tolist()):
        matrix[int(t), int(p)] += 1
    return matrix
''',
    "calibration": '''def expected_calibration_error(probs, labels, bins=15):
    """ECE of class probabilities (N, K) against true labels (N,), with `bins` equal-width bins."""
    confidence, predicted = probs.double().max(dim=1)
    correct = (predicted.cpu() == labels.cpu()).double()
    confidence = confidence.cpu()
    total = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = (confidence > low) & (confidence <= high)
        if b == 0:
            members |= confidence == 0
        if members.any():
            gap = correct[members].mean() - confidence[members].mean()
            total += members.sum().item() / len(labels) * abs(gap.item())
    return total
''',
    "export": '''def export_model(model, path):
    """Write the model's eval-mode function (raw images (N, 1, 28, 28) -> logits) to the ONNX file `path`."""
    snapshot = copy.deepcopy(model).to("cpu").eval()
    torch.onnx.export(snapshot, (torch.zeros(1, 1, 28, 28),), str(path), dynamo=False,
                      input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
''',
    "preprocess": '''import numpy as np


def preprocess_digit(image):
    """A grey image (H, W), dark ink on light paper -> an MNIST-style (1, 28, 28) float32 tensor."""
    grey = np.asarray(torch.as_tensor(image, dtype=torch.float32).cpu().numpy(), dtype=np.float64)
    ink = np.median(grey) - grey                      # paper 0, ink positive
    ink = np.clip(ink / max(ink.max(), 1e-6), 0, 1)
    where = np.argwhere(ink > 0.5)
    if len(where) == 0:
        return torch.zeros(1, 28, 28)
    (top, left), (bottom, right) = where.min(axis=0), where.max(axis=0)
    top, left = max(top - 1, 0), max(left - 1, 0)
    crop = ink[top:bottom + 2, left:right + 2]
    crop[crop < 0.2] = 0
    h, w = crop.shape
    factor = 20 / max(h, w)
    nh, nw = max(1, int(round(h * factor))), max(1, int(round(w * factor)))
    small = Image.fromarray(crop.astype(np.float32), mode="F").resize((nw, nh), Image.BOX)
    small = np.clip(np.asarray(small, dtype=np.float64), 0, 1)
    ys, xs = np.indices(small.shape)
    cy, cx = (ys * small).sum() / small.sum(), (xs * small).sum() / small.sum()
    y0 = int(np.clip(np.rint(14 - cy), 0, 28 - nh))
    x0 = int(np.clip(np.rint(14 - cx), 0, 28 - nw))
    out = np.zeros((28, 28), dtype=np.float32)
    out[y0:y0 + nh, x0:x0 + nw] = small
    return torch.from_numpy(out)[None]
''',
    "metadata": '''def model_metadata(model, val_data, heldout_data, seed):
    """Facts about a trained classifier, as a JSON-ready dict (see the table above)."""
    z = 1.96

    def split(images, labels):
        n = len(labels)
        correct = round(evaluate(model, images, labels) * n)
        denominator = n + z * z
        centre = (correct + z * z / 2) / denominator
        half = z * math.sqrt(n) / denominator * math.sqrt(correct / n * (1 - correct / n) + z * z / (4 * n))
        return {"n": n, "accuracy": correct / n, "ci95": [centre - half, centre + half]}

    runner = copy.deepcopy(model).to("cpu").eval()

    def median_ms(batch):
        x = torch.rand(batch, 1, 28, 28)
        with torch.inference_mode():
            runner(x)
            times = []
            for _ in range(5):
                t = time.perf_counter()
                runner(x)
                times.append((time.perf_counter() - t) * 1000)
        return float(torch.tensor(times).median())

    count = 0
    for parameter in model.parameters():
        count += parameter.numel()
    return dict(seed=seed, torch_version=str(torch.__version__), n_parameters=count,
                class_names=list("0123456789"),
                input=dict(shape=[1, 28, 28], dtype="float32", range=[0, 1]),
                normalisation=dict(mean=0.1307, std=0.3081),
                accuracy=dict(validation=split(*val_data), heldout=split(*heldout_data)),
                latency_ms=dict(batch_1=median_ms(1), batch_256=median_ms(256)),
                notes="written with loops")
''',
}
