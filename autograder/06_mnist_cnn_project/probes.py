"""Probes for Module 6 (the MNIST CNN project): run in the worker, return data only.

Each probe builds or calls the student's code on inputs the judge chose and returns tensors
and plain values. No expected values here: the judge compares. Models that are not the
subject of a test are the probe's own (written below), so each test depends only on the
code it grades. Probe-owned models live on ``nb.device``, where the notebook's own code
expects models to be.
"""

import json
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.probing import model_device, predict_labels


@contextmanager
def _full_precision():
    """Plain float32 matmuls and convolutions (no TF32 on a GPU, whatever the notebook set),
    so that the judge's float64 references and float32 tolerances apply."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _mro_names(module):
    return [c.__name__ for c in type(module).__mro__]


# --- Exercise 1: MNISTNet ----------------------------------------------------------------


def mnistnet(nb, x, seed):
    """A fresh MNISTNet on the CPU: its layers, parameters, and outputs in both modes."""
    torch.manual_seed(seed)
    model = nb.MNISTNet()
    layers = [_mro_names(m) for m in model.modules()]
    params = [p.detach().clone() for p in model.parameters()]
    model.eval()
    with torch.no_grad():
        eval_out = [model(x), model(x)]
    model.train()
    with torch.no_grad():
        train_out = [model(x), model(x)]
    return {"layers": layers, "params": params, "eval": eval_out, "train": train_out}


# --- Exercise 2: evaluate and train (and Exercise 3's classifier) ----------------------


def _classifier(weight, bias, running_mean, running_var, gamma, beta, device):
    """Flatten → Linear → BatchNorm1d → Dropout(0.5), returned in training mode.

    In eval mode its logits are BN_eval(x·Wᵀ + b), which the judge recomputes in float64;
    in training mode batch statistics and dropout change them (and make them random).
    """
    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(weight.shape[1], weight.shape[0]),
        nn.BatchNorm1d(weight.shape[0]),
        nn.Dropout(0.5),
    )
    with torch.no_grad():
        model[1].weight.copy_(weight)
        model[1].bias.copy_(bias)
        model[2].running_mean.copy_(running_mean)
        model[2].running_var.copy_(running_var)
        model[2].weight.copy_(gamma)
        model[2].bias.copy_(beta)
    return model.to(device).train()


def evaluate(nb, params, images, labels):
    """evaluate's result for the probe classifier built from the judge's parameters."""
    model = _classifier(**params, device=nb.device)
    with _full_precision():
        return nb.evaluate(model, images, labels)


def predict_proba(nb, params, images):
    """Two calls of predict_proba on the probe classifier (the model is in training mode first)."""
    model = _classifier(**params, device=nb.device)
    with _full_precision():
        first = nb.predict_proba(model, images)
        second = nb.predict_proba(model, images)
    return [first, second]


def predict(nb, params, images):
    """predict's labels for the probe classifier."""
    model = _classifier(**params, device=nb.device)
    with _full_precision():
        return nb.predict(model, images)


# --- Exercise 4: confusion_matrix --------------------------------------------------------


def confusion_matrix(nb, preds, labels, num_classes=None):
    """confusion_matrix's result, with num_classes passed only when the judge gives one."""
    if num_classes is None:  # the default number of classes
        return nb.confusion_matrix(preds, labels)
    return nb.confusion_matrix(preds, labels, num_classes=num_classes)


# --- Exercise 2: train -------------------------------------------------------------------


def _evaluate(model, images, labels, batch_size=2000, **_):
    """The instructor's evaluate: train is graded with it, so an evaluate bug costs only its own test."""
    model.eval()
    device = model_device(model)
    correct = 0
    with torch.no_grad():
        for xb, yb in zip(images.split(batch_size), labels.split(batch_size)):
            correct += (model(xb.to(device)).argmax(dim=1) == yb.to(device)).sum().item()
    return correct / len(labels)


class _ScriptedNet(nn.Module):
    """A model whose accuracy on the validation images after each epoch is chosen by the judge.

    On any other input it is a plain linear classifier, so any optimizer can train it. It
    recognises a validation image (a copy of a stored one) and answers it from the row
    ``answers[epoch]``. ``epoch`` counts the validation passes that follow training: it grows
    by one at the first validation image after training images went through it in training
    mode or with gradients on. It is a buffer (part of the state_dict, updated in place), so
    restoring a checkpoint restores it too. ``eval_mode_steps`` counts backward passes through
    a forward made in eval mode: training steps taken with dropout and batch norm switched to
    their inference behaviour.
    """

    def __init__(self, val_images, answers):
        super().__init__()
        self.linear = nn.Linear(val_images[0].numel(), 10)
        self.register_buffer("epoch", torch.zeros((), dtype=torch.long))
        self.register_buffer(
            "keys", val_images.reshape(len(val_images), -1).clone(), persistent=False
        )
        self.register_buffer("answers", answers.clone(), persistent=False)
        self.trained_since_validation = False
        self.eval_mode_steps = 0
        self.train_mode_steps = 0

    def _count_eval_mode_step(self, grad):
        self.eval_mode_steps += 1

    def _count_train_mode_step(self, grad):
        self.train_mode_steps += 1

    def forward(self, x):
        x = x.reshape(len(x), -1).float()
        distance, nearest = torch.cdist(
            x, self.keys.float(), compute_mode="donot_use_mm_for_euclid_dist"
        ).min(dim=1)
        is_val = (
            distance < 1.0
        )  # random images lie about 11 apart: this is a copy of a validation image
        if (self.training or torch.is_grad_enabled()) and not bool(is_val.all()):
            self.trained_since_validation = True
        if bool(is_val.any()) and self.trained_since_validation:
            self.trained_since_validation = False
            self.epoch.add_(1)
        row = self.answers[self.epoch.clamp(max=len(self.answers) - 1)]
        scripted = F.one_hot(row[nearest], 10).float() * 4.0
        out = torch.where(is_val.unsqueeze(1), scripted, self.linear(x))
        if out.requires_grad:
            out.register_hook(
                self._count_train_mode_step if self.training else self._count_eval_mode_step
            )
        return out


def train_scripted(nb, train_images, train_labels, val_images, val_labels, answers, epochs, seed):
    """train's history, the epoch whose weights the model holds after it, and eval-mode steps."""
    torch.manual_seed(seed)
    model = _ScriptedNet(val_images, answers).to(nb.device)
    with nb.substitute(evaluate=_evaluate):
        history = nb.train(model, (train_images, train_labels), (val_images, val_labels), epochs)
    if isinstance(history, dict):
        history = {k: v for k, v in history.items() if k == "val_accuracy"}
    else:
        history = type(history).__name__
    return {
        "history": history,
        "epoch": int(model.epoch.item()),
        "eval_mode_steps": model.eval_mode_steps,
        "train_mode_steps": model.train_mode_steps,
    }


class _SmallCNN(nn.Module):
    """An ordinary small CNN (the probe's own) that takes raw [0, 1] MNIST images."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 5)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 12 * 12, 10)

    def forward(self, x):
        x = (x - 0.1307) / 0.3081
        return self.fc(F.max_pool2d(F.relu(self.bn(self.conv(x))), 2).flatten(1))


def train_learns(nb, train_images, train_labels, val_images, val_labels, epochs, seed):
    """Validation predictions of the probe's small CNN after train trained it."""
    torch.manual_seed(seed)
    model = _SmallCNN().to(nb.device)
    with nb.substitute(evaluate=_evaluate):
        nb.train(model, (train_images, train_labels), (val_images, val_labels), epochs)
    model.eval()
    with torch.no_grad():
        return model(val_images.to(model_device(model))).argmax(dim=1)


# --- the trained model: mnist_model ----------------------------------------------------


def _logits(model, images, batch_size=1000):
    """The model's logits in eval mode, on the model's own device, in batches."""
    model.eval()
    device = model_device(model)
    with torch.no_grad():
        return torch.cat([model(xb.to(device)).float().cpu() for xb in images.split(batch_size)])


def mnist_model_predictions(nb, images):
    """Class predictions of the notebook's trained `mnist_model` for raw [0, 1] images."""
    return predict_labels(nb.mnist_model, images, default_device=nb.device)


# --- Exercise 5: save_model and load_model ----------------------------------------------


def _state(model):
    """A model's state_dict on the CPU: what save_model must keep and load_model restore."""
    return {name: value.detach().cpu().clone() for name, value in model.state_dict().items()}


def save_load_fresh(nb, images, seed, path):
    """A freshly initialised MNISTNet with random batch-norm statistics, saved and reloaded."""
    torch.manual_seed(seed)
    model = nb.MNISTNet()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) * 1.5 + 0.5)
    model = model.to(nb.device).eval()
    with _full_precision():
        before = _logits(model, images)
    nb.save_model(model, path)
    loaded = nb.load_model(path)
    same, training = loaded is model, bool(loaded.training)  # before _logits puts it in eval mode
    loaded = loaded.to(model_device(model))
    with _full_precision():
        return {
            "original": before,
            "loaded": _logits(loaded, images),
            "original_state": _state(model),
            "loaded_state": _state(loaded),
            "same_object": same,
            "training": training,
        }


def save_load_trained(nb, images, path):
    """The notebook's trained `mnist_model`, saved and reloaded."""
    model = nb.mnist_model
    with _full_precision():
        before = _logits(model, images)
    nb.save_model(model, path)
    loaded = nb.load_model(path)
    same, training = loaded is model, bool(loaded.training)  # before _logits puts it in eval mode
    loaded = loaded.to(model_device(model))
    with _full_precision():
        return {
            "original": before,
            "loaded": _logits(loaded, images),
            "original_state": _state(model),
            "loaded_state": _state(loaded),
            "same_object": same,
            "training": training,
        }


# --- Exercise 6: expected_calibration_error --------------------------------------------------


def calibration(nb, cases):
    """expected_calibration_error's result for each (probs, labels, bins) case; bins None: the default."""
    return [
        nb.expected_calibration_error(c["probs"], c["labels"])
        if c["bins"] is None
        else nb.expected_calibration_error(c["probs"], c["labels"], bins=c["bins"])
        for c in cases
    ]


# --- Exercise 7: export_model ------------------------------------------------------------------


def _onnx_logits(path, batches):
    """Run an ONNX file with ONNX Runtime (one thread) on each batch: its first output as a tensor,
    or the error ONNX Runtime raised (as a string) when the file cannot be loaded or run."""
    import onnxruntime

    try:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        name = session.get_inputs()[0].name
    except Exception as error:  # noqa: BLE001 - reported to the judge as data
        return [f"{type(error).__name__}: {error}"[:400]] * len(batches)
    out = []
    for x in batches:
        try:
            out.append(
                torch.from_numpy(
                    session.run(None, {name: x.float().contiguous().numpy()})[0].copy()
                )
            )
        except Exception as error:  # noqa: BLE001
            out.append(f"{type(error).__name__}: {error}"[:400])
    return out


class _ExportNet(nn.Module):
    """The probe's own classifier for the export test: batch norm and dropout, so that a graph
    recorded in training mode computes something else than the model in eval mode."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(1, channels, 5)
        self.bn = nn.BatchNorm2d(channels)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(channels * 12 * 12, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(self.drop(x.flatten(1)))


def export_probe_model(nb, batches, channels, seed, path):
    """ONNX Runtime's outputs for the student's export of a probe model (handed over in training
    mode), whether a file was written, the model's eval-mode logits, its mode and device after."""
    torch.manual_seed(seed)
    model = _ExportNet(channels)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.bn.running_mean.copy_(torch.randn(channels, generator=g) * 0.5)
        model.bn.running_var.copy_(torch.rand(channels, generator=g) * 1.5 + 0.5)
    model = model.to(nb.device).train()
    with _full_precision():
        nb.export_model(model, path)
        training_after, device_after = bool(model.training), str(model_device(model).type)
        eager = [_logits(model, x) for x in batches]
    written = Path(path).is_file() and Path(path).stat().st_size > 0
    return {
        "written": written,
        "onnx": _onnx_logits(path, batches),
        "eager": eager,
        "training_after": training_after,
        "device_after": device_after,
        "device_before": str(torch.device(nb.device).type),
    }


def bundle_model(nb, images, batch_size):
    """Logits of the notebook's mnist_bundle/model.onnx (in batches) and of mnist_model."""
    path = Path("mnist_bundle") / "model.onnx"
    if not path.is_file():
        return {"missing": True}
    with _full_precision():
        eager = _logits(nb.mnist_model, images)
    parts = _onnx_logits(path, images.split(batch_size))
    errors = [p for p in parts if isinstance(p, str)]
    onnx = errors[0] if errors else torch.cat(parts)
    return {"missing": False, "onnx": onnx, "eager": eager}


# --- Exercise 8: preprocess_digit ----------------------------------------------------------------


def preprocess_outputs(nb, canvases):
    """preprocess_digit's outputs for photographs sent as uint8 grey images (H, W)."""
    return [nb.preprocess_digit(c.float() / 255) for c in canvases]


def preprocess_predictions(nb, canvases):
    """mnist_model's predictions after preprocess_digit, for photographs sent as uint8 images."""
    prepared = torch.stack(
        [
            torch.as_tensor(nb.preprocess_digit(c.float() / 255)).float().reshape(1, 28, 28)
            for c in canvases
        ]
    )
    return predict_labels(nb.mnist_model, prepared, default_device=nb.device)


# --- Exercise 9: model_metadata and the bundle's metadata.json -----------------------------------


def _json_round_trip(value):
    """The value as json.dumps/json.loads leave it, or the reason it cannot be written as JSON."""
    try:
        return {"data": json.loads(json.dumps(value, allow_nan=False))}
    except (TypeError, ValueError) as error:
        return {"error": f"{type(error).__name__}: {error}"[:300]}


def metadata_probe_model(nb, params, val_images, val_labels, heldout_images, heldout_labels, seed):
    """model_metadata's dict (through JSON) for the probe classifier, and that model's mode after."""
    model = _classifier(**params, device=nb.device)
    with _full_precision():
        result = nb.model_metadata(
            model, (val_images, val_labels), (heldout_images, heldout_labels), seed
        )
    out = _json_round_trip(result)
    out["torch_version"] = str(torch.__version__)
    out["device_after"] = str(model_device(model).type)
    out["device_before"] = str(torch.device(nb.device).type)
    return out


def bundle_metadata(nb):
    """The notebook's mnist_bundle/metadata.json (parsed), mnist_model's parameter count, and
    whether the bundle holds its other files."""
    folder = Path("mnist_bundle")
    path = folder / "metadata.json"
    if not path.is_file():
        return {"missing": True}
    try:
        data = json.loads(path.read_text()[:1_000_000])
    except ValueError as error:
        return {"missing": False, "error": f"{type(error).__name__}: {error}"[:300]}
    out = _json_round_trip(data)
    out.update(
        missing=False,
        n_parameters=sum(p.numel() for p in nb.mnist_model.parameters()),
        files=sorted(p.name for p in folder.iterdir())[:50],
        torch_version=str(torch.__version__),
    )
    return out
