"""Wrong: every function returns a fixed answer of the right type and shape, whatever its input
(MNISTNet has the right layers but its forward returns a fixed tensor)."""

MUST_FAIL = "all"
CELLS = {
    "mnistnet": '''class MNISTNet(nn.Module):
    """A small CNN with batch normalization and dropout: raw (N, 1, 28, 28) images -> (N, 10) logits."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.dropout = nn.Dropout(0.25)
        self.classifier = nn.Linear(16 * 14 * 14, 10)

    def forward(self, x):
        x = (x - MNIST_MEAN) / MNIST_STD  # the model normalises its own input: pass raw [0, 1] pixels
        return torch.zeros(len(x), 10) + 0 * self.classifier.bias
''',
    "training": '''def evaluate(model, images, labels, batch_size=2000):
    """Fraction of images (raw, as load_mnist returns them) whose argmax prediction equals the label."""
    return 0.5


def train(model, train_data, val_data, epochs, batch_size=128, max_lr=3e-3, weight_decay=1e-4,
          augment=True, seed=0):
    """Train with AdamW and a one-cycle schedule; validate every epoch; keep the best weights."""
    return {"train_loss": [1.0] * epochs, "val_accuracy": [0.5] * epochs}
''',
    "predict": '''def predict_proba(model, images, batch_size=2000):
    """Softmax probabilities (N, 10), on the CPU, for raw images (N, 1, 28, 28)."""
    return torch.full((len(images), 10), 0.1)


def predict(model, images):
    """Predicted labels (N,) as int64."""
    return torch.zeros(len(images), dtype=torch.int64)
''',
    "confusion_matrix": '''def confusion_matrix(preds, labels, num_classes=10):
    """C[i, j] = number of samples of true class i predicted as class j."""
    return torch.zeros(num_classes, num_classes, dtype=torch.int64)
''',
    "save_load": '''def save_model(model, path):
    """Write the model's learned state (parameters and buffers) to `path`."""
    return None


def load_model(path):
    """A new MNISTNet on `device`, in eval mode, with the state saved at `path`."""
    return MNISTNet().to(device).eval()
''',
    "calibration": '''def expected_calibration_error(probs, labels, bins=15):
    """ECE of class probabilities (N, K) against true labels (N,), with `bins` equal-width bins."""
    return 0.5
''',
    "export": '''def export_model(model, path):
    """Write the model's eval-mode function (raw images (N, 1, 28, 28) -> logits) to the ONNX file `path`."""
    return None
''',
    "preprocess": '''def preprocess_digit(image):
    """A grey image (H, W), dark ink on light paper -> an MNIST-style (1, 28, 28) float32 tensor."""
    out = torch.zeros(1, 28, 28)
    out[0, 4:24, 9:19] = 1.0
    return out
''',
    "metadata": '''def model_metadata(model, val_data, heldout_data, seed):
    """Facts about a trained classifier, as a JSON-ready dict (see the table above)."""
    split = {"accuracy": 0.99, "n": 5000, "ci95": [0.987, 0.992]}
    return {"input": {"shape": [1, 28, 28], "dtype": "float32", "range": [0.0, 1.0]},
            "normalisation": {"mean": MNIST_MEAN, "std": MNIST_STD},
            "class_names": [str(k) for k in range(10)], "n_parameters": 29178,
            "accuracy": {"validation": split, "heldout": split},
            "latency_ms": {"batch_1": 1.0, "batch_256": 10.0},
            "torch_version": torch.__version__, "seed": 0}
''',
}
