"""Hidden graders for Module 6 — the MNIST CNN project.

Every input is drawn at run time from the ``seed`` fixture; expected values are computed
here, in float64, from the inputs. Models that are not under test are the probes' own, so
each test depends only on the code it grades. The trained model the notebook leaves in
``mnist_model`` is scored on the hidden test split, whose labels never leave this process.
"""

import math

import torch

from dlcourse.checks import (
    accuracy,
    close,
    expect,
    grade,
    hidden_test_accuracy,
    mnist_test_split,
    number,
    randint,
    rng,
    tensor,
)
from dlcourse.data import MEAN, STD

PARAM_LIMIT = 1_000_000
TIE_GAP = 1e-3  # rows whose top two reference logits are closer than this may go either way
PHOTOS = 2500  # photographed test digits for preprocess_digit's accuracy test (sized there)


def _images(g, n):
    return torch.rand(n, 1, 28, 28, generator=g)


# --- Exercise 1: MNISTNet --------------------------------------------------------------


def _mnistnet(nb, seed, n):
    """A fresh MNISTNet's outputs for n >= 2 random images; its logits must depend on the image."""
    g = rng(seed)
    got = nb.call("mnistnet", x=_images(g, n), seed=seed)
    for mode in ("eval", "train"):
        expect(
            isinstance(got[mode], list) and len(got[mode]) == 2,
            "MNISTNet's outputs could not be read",
        )
        for out in got[mode]:
            tensor(out, f"MNISTNet's output ({mode} mode)", shape=(n, 10))
    out = got["eval"][0].double()
    # Random images through any real network (random weights) give different logits per image.
    expect(
        (out - out[:1]).abs().max().item() > 1e-6,
        "MNISTNet gives the same logits for different images: its output should come from its input",
    )
    return got


def _has_layer(layers, base):
    return any(base in names for names in layers)


@grade(
    cell="test_mnistnet",
    points=1,
    hint="end forward with the last nn.Linear; no softmax in the model",
)
def test_mnistnet_returns_logits(nb, seed):
    """MNISTNet returns raw class scores (logits), not probabilities."""
    n = randint(rng(seed), 2, 16)
    got = _mnistnet(nb, seed, n)
    out = got["eval"][0].double()
    looks_like_probabilities = bool((out >= 0).all()) and close(
        out.sum(dim=1), torch.ones(n), atol=1e-3
    )
    expect(
        not looks_like_probabilities,
        "MNISTNet should return logits (raw class scores), not probabilities: "
        "leave the softmax to the loss and to predict_proba",
    )


@grade(
    cell="test_mnistnet",
    points=1,
    hint="the table in the exercise gives a network of under 30,000 parameters",
)
def test_mnistnet_is_a_small_cnn(nb, seed):
    """MNISTNet has convolution layers and at most 1,000,000 parameters."""
    got = _mnistnet(nb, seed, 2)
    expect(
        _has_layer(got["layers"], "_ConvNd"), "MNISTNet should have convolution layers (nn.Conv2d)"
    )
    count = sum(tensor(p, "a parameter of MNISTNet").numel() for p in got["params"])
    expect(
        count <= PARAM_LIMIT, f"MNISTNet has {count:,} parameters; keep it at most {PARAM_LIMIT:,}"
    )


@grade(
    cell="test_mnistnet",
    points=1,
    hint="add nn.BatchNorm2d after the convolutions, registered in __init__",
)
def test_mnistnet_has_batchnorm(nb, seed):
    """MNISTNet uses batch normalization."""
    got = _mnistnet(nb, seed, 2)
    expect(
        _has_layer(got["layers"], "_BatchNorm"),
        "MNISTNet should use batch normalization (nn.BatchNorm2d)",
    )


@grade(
    cell="test_mnistnet",
    points=1,
    hint="use an nn.Dropout module (it follows model.train() and model.eval())",
)
def test_mnistnet_dropout_only_in_training(nb, seed):
    """MNISTNet has dropout that acts in training mode only."""
    n = randint(rng(seed), 2, 16)
    got = _mnistnet(nb, seed, n)
    expect(_has_layer(got["layers"], "_DropoutNd"), "MNISTNet should use dropout (nn.Dropout)")
    expect(
        close(got["eval"][0], got["eval"][1], atol=1e-6),
        "MNISTNet in eval mode gives different outputs for the same images: dropout must be off in eval mode",
    )
    # Two training-mode passes draw independent dropout masks; identical outputs would need
    # every mask to coincide, which has negligible probability for any real dropout layer.
    differ = (got["train"][0].double() - got["train"][1].double()).abs().max().item() > 1e-4
    expect(
        differ,
        "MNISTNet in training mode gives the same outputs twice: its dropout is not active in forward",
    )


# --- Exercise 2: evaluate and train ------------------------------------------------------


def _classifier_params(g, d=784, k=10):
    return {
        "weight": torch.randn(k, d, generator=g) * 0.05,
        "bias": torch.randn(k, generator=g) * 0.1,
        "running_mean": torch.randn(k, generator=g) * 0.3,
        "running_var": torch.rand(k, generator=g) * 1.5 + 0.5,
        "gamma": torch.rand(k, generator=g) + 0.5,
        "beta": torch.randn(k, generator=g) * 0.5,
    }


def _classifier_logits(params, images):
    """The probe classifier's eval-mode logits, in float64: BatchNorm1d(eps=1e-5) after Linear."""
    p = {k: v.double() for k, v in params.items()}
    z = images.double().reshape(len(images), -1) @ p["weight"].T + p["bias"]
    return (z - p["running_mean"]) / torch.sqrt(p["running_var"] + 1e-5) * p["gamma"] + p["beta"]


def _clear_rows(logits):
    """Rows whose top class wins by at least TIE_GAP: float32 rounding cannot change them."""
    top2 = logits.topk(2, dim=1).values
    return (top2[:, 0] - top2[:, 1]) >= TIE_GAP


@grade(
    cell="test_training",
    points=1,
    hint="call model.eval(), compare argmax(logits) with the labels, divide by the number of images",
)
def test_evaluate_accuracy_in_eval_mode(nb, seed):
    """evaluate returns the fraction of correct argmax predictions, computed in eval mode."""
    g = rng(seed)
    params = _classifier_params(g)
    n = randint(g, 200, 1500)
    images = _images(g, n)
    logits = _classifier_logits(params, images)
    best = logits.argmax(dim=1)
    keep = torch.rand(n, generator=g) < float(torch.rand(1, generator=g)) * 0.6 + 0.3
    labels = torch.where(keep, best, torch.randint(0, 10, (n,), generator=g))
    got = number(
        nb.call("evaluate", params=params, images=images, labels=labels), "evaluate's result"
    )
    clear = _clear_rows(logits)
    low = ((best == labels) & clear).sum().item() / n
    high = low + (~clear).sum().item() / n
    expect(
        low - 1e-9 <= got <= high + 1e-9,
        "evaluate should return the fraction (between 0 and 1) of correctly classified images, "
        "with the model in eval mode",
    )


def _scripted_run(nb, seed):
    """Train a probe model whose validation accuracy after each epoch is chosen here.

    The best epoch is never the last one, so keeping the last weights cannot pass.
    """
    g = rng(seed)
    epochs, n_val = randint(g, 3, 5), 200
    counts = (
        (torch.randperm(171, generator=g)[:epochs] + 20).sort(descending=True).values
    )  # distinct
    best = randint(g, 0, epochs - 2)
    others = counts[1:][torch.randperm(epochs - 1, generator=g)]
    order = torch.cat([others[:best], counts[:1], others[best:]])
    val_images, val_labels = _images(g, n_val), torch.randint(0, 10, (n_val,), generator=g)
    rows = [torch.zeros((), dtype=torch.long)] + list(order) + [torch.zeros((), dtype=torch.long)]
    answers = []
    for correct in rows:
        wrong = torch.randperm(n_val, generator=g)[: n_val - int(correct)]
        row = val_labels.clone()
        row[wrong] = (row[wrong] + torch.randint(1, 10, (len(wrong),), generator=g)) % 10
        answers.append(row)
    got = nb.call(
        "train_scripted",
        train_images=_images(g, 1000),
        train_labels=torch.randint(0, 10, (1000,), generator=g),
        val_images=val_images,
        val_labels=val_labels,
        answers=torch.stack(answers),
        epochs=epochs,
        seed=seed,
    )
    return got, (order.double() / n_val).tolist(), best


@grade(
    cell="test_training",
    points=1,
    hint='append evaluate(model, *val_data) to history["val_accuracy"] after every epoch',
)
def test_train_reports_validation_accuracy(nb, seed):
    """train returns one validation accuracy per epoch, measured with evaluate."""
    got, expected, _ = _scripted_run(nb, seed)
    history = got["history"]
    expect(
        isinstance(history, dict) and "val_accuracy" in history,
        'train should return a dict with a "val_accuracy" list',
    )
    values = history["val_accuracy"]
    expect(
        isinstance(values, (list, tuple)) and len(values) == len(expected),
        f'history["val_accuracy"] should hold one accuracy per epoch ({len(expected)} for {len(expected)} epochs)',
    )
    values = [number(v, 'an entry of history["val_accuracy"]') for v in values]
    expect(
        all(abs(v - e) <= 1e-6 for v, e in zip(values, expected)),
        'history["val_accuracy"] should be the validation accuracy (a fraction, measured with evaluate) '
        "after each epoch",
    )


@grade(
    cell="test_training",
    points=1,
    hint="evaluate switches to eval mode: call model.train() at the start of every epoch",
)
def test_train_uses_training_mode(nb, seed):
    """train takes its optimiser steps with the model in training mode."""
    got, _, _ = _scripted_run(nb, seed)
    expect(
        number(got["train_mode_steps"], "the number of training steps") > 0,
        "train took no training step (no backward pass through the model in training mode)",
    )
    steps = number(got["eval_mode_steps"], "the number of training steps taken in eval mode")
    expect(
        steps == 0,
        f"{steps:g} training steps ran with the model in eval mode: call model.train() at the "
        "start of every epoch (evaluate leaves the model in eval mode)",
    )


@grade(
    cell="test_training",
    points=2,
    hint="copy.deepcopy(model.state_dict()) when the accuracy improves; load it back at the end",
)
def test_train_keeps_best_checkpoint(nb, seed):
    """When train returns, the model holds the weights of its best validation epoch."""
    got, _, best = _scripted_run(nb, seed)
    expect(
        number(got["epoch"], "the trained model's state") == best + 1,
        "when train returns, the model should hold the weights of its best epoch on the validation set "
        "(a copy of the state_dict taken then, loaded back at the end)",
    )


@grade(
    cell="test_training",
    points=1,
    hint="check the loss, optimizer.zero_grad(), loss.backward() and optimizer.step() in every batch",
)
def test_train_learns_mnist(nb, seed):
    """train trains: a small CNN trained with it classifies new digits far better than chance."""
    from dlcourse.data import load_mnist

    g = rng(seed)
    images, labels = load_mnist("train")
    order = torch.randperm(len(images), generator=g)
    train_idx, val_idx = order[:3000], order[3000:4000]
    got = nb.call(
        "train_learns",
        train_images=images[train_idx],
        train_labels=labels[train_idx],
        val_images=images[val_idx],
        val_labels=labels[val_idx],
        epochs=3,
        seed=seed,
    )
    acc = accuracy(got, labels[val_idx], "the trained model's predictions")
    # This only asks whether train trains at all: an untrained model scores about 10%. With
    # the reference train the probe's small CNN reaches 90% on new digits after 3 epochs on
    # 3,000 (30 random seeds: mean 90.0%, sd 1.2%, min 86.9%), so 50% lies more than 30
    # standard deviations below. The 1,000 test digits add sampling noise: by Hoeffding the
    # measured accuracy falls 0.3 below the model's true accuracy with probability at most
    # exp(-2·1000·0.3²) < 1e-78.
    expect(
        acc >= 0.5,
        f"train does not seem to train: a small CNN trained with it for 3 epochs on 3,000 "
        f"digits classifies only {acc:.1%} of new digits correctly",
    )


# --- Exercise 3: predict_proba and predict -------------------------------------------------


def _predict_inputs(seed):
    g = rng(seed)
    params = _classifier_params(g)
    images = _images(g, randint(g, 2, 300))
    return params, images, _classifier_logits(params, images)


@grade(cell="test_predict", points=2, hint="model.eval(), torch.no_grad(), softmax over dim=1")
def test_predict_proba_is_eval_mode_softmax(nb, seed):
    """predict_proba returns the softmax of the eval-mode logits."""
    params, images, logits = _predict_inputs(seed)
    got = nb.call("predict_proba", params=params, images=images)
    probs = tensor(got[0], "predict_proba's result", shape=logits.shape)
    expect(
        close(probs.sum(dim=1), torch.ones(len(images)), atol=1e-5),
        "each row of predict_proba should sum to 1",
    )
    expect(
        close(probs, torch.softmax(logits, dim=1), atol=1e-5, rtol=1e-4),
        "predict_proba should return the softmax of the model's logits, with the model in eval mode",
    )


@grade(cell="test_predict", points=1, hint="switch the model to eval mode inside predict_proba")
def test_predict_proba_is_deterministic(nb, seed):
    """predict_proba gives the same probabilities twice for the same images."""
    params, images, logits = _predict_inputs(seed)
    first, second = nb.call("predict_proba", params=params, images=images)
    first = tensor(first, "predict_proba's result", shape=logits.shape)
    second = tensor(second, "predict_proba's result", shape=logits.shape)
    expect(
        close(first, second, atol=1e-6),
        "predict_proba gives different answers for the same images: put the model in eval mode",
    )
    expect(
        len(images) < 2 or (first - first[:1]).abs().max().item() > 1e-6,
        "predict_proba gives the same probabilities for different images",
    )


@grade(cell="test_predict", points=1, hint="argmax over the class dimension of predict_proba")
def test_predict_labels(nb, seed):
    """predict returns the int64 index of the most probable class."""
    params, images, logits = _predict_inputs(seed)
    got = tensor(
        nb.call("predict", params=params, images=images), "predict's result", shape=(len(images),)
    )
    expect(
        not got.is_floating_point() and not got.is_complex() and got.dtype != torch.bool,
        f"predict should return integer class labels, got {got.dtype}",
    )
    clear = _clear_rows(logits)
    expect(
        bool((got.long() == logits.argmax(dim=1))[clear].all()),
        "predict should return the most probable class of each image (model in eval mode)",
    )


# --- Exercise 4: confusion_matrix --------------------------------------------------------------


def _reference_confusion(preds, labels, k):
    matrix = torch.zeros(k, k, dtype=torch.float64)
    for p, t in zip(preds.tolist(), labels.tolist()):
        matrix[t, p] += 1
    return matrix


def _confusion(nb, preds, labels, k, name="confusion_matrix's result"):
    inputs = (
        {"preds": preds, "labels": labels}
        if k is None
        else {"preds": preds, "labels": labels, "num_classes": k}
    )
    got = tensor(nb.call("confusion_matrix", **inputs), name, shape=(k or 10, k or 10))
    expect(not got.is_complex() and got.dtype != torch.bool, "confusion_matrix should hold counts")
    return got.double()


@grade(
    cell="test_confusion_matrix", points=2, hint="rows are the true labels, columns the predictions"
)
def test_confusion_matrix_counts(nb, seed):
    """confusion_matrix[i, j] counts the images of true class i predicted as j."""
    g = rng(seed)
    while True:  # a non-symmetric matrix, so that rows and columns cannot be swapped unnoticed
        k, n = randint(g, 2, 12), randint(g, 20, 400)
        labels = torch.randint(0, k, (n,), generator=g)
        right = torch.rand(n, generator=g) < 0.6
        preds = torch.where(right, labels, torch.randint(0, k, (n,), generator=g))
        labels[0], preds[1] = k - 1, k - 1  # the highest class occurs among labels and predictions
        expected = _reference_confusion(preds, labels, k)
        if not torch.equal(expected, expected.T):
            break
    got = _confusion(nb, preds, labels, k)
    expect(
        torch.equal(got, expected),
        "confusion_matrix[i, j] should count the images of true class i predicted as class j",
    )


@grade(
    cell="test_confusion_matrix",
    points=1,
    hint="size the matrix from num_classes, not from the largest label present",
)
def test_confusion_matrix_num_classes(nb, seed):
    """confusion_matrix is num_classes × num_classes (10 by default), even for classes that never occur."""
    g = rng(seed)
    for k in (None, randint(g, 3, 12)):
        present = randint(g, 1, (k or 10) - 1)  # the highest classes never occur
        n = randint(g, 1, 100)
        labels = torch.randint(0, present, (n,), generator=g)
        preds = torch.randint(0, present, (n,), generator=g)
        got = _confusion(nb, preds, labels, k)
        expected = _reference_confusion(preds, labels, k or 10)
        # the orientation (rows = true labels) is graded by test_confusion_matrix_counts
        expect(
            torch.equal(got, expected) or torch.equal(got, expected.T),
            "confusion_matrix should be num_classes × num_classes (10 × 10 by default), "
            "even when some classes never occur",
        )


# --- Exercise 5: save_model and load_model -------------------------------------------------------


def _check_reloaded(got, n, what):
    expect(got["same_object"] is False, "load_model should build a new model from the saved file")
    expect(
        got.get("training") is False,
        "load_model should return the model in eval mode (model.eval())",
    )
    original = tensor(got["original"], f"the {what}'s logits", shape=(n, 10))
    loaded = tensor(got["loaded"], "the reloaded model's logits", shape=(n, 10))
    expect(
        close(loaded, original, atol=1e-4, rtol=1e-4),
        f"the model returned by load_model predicts differently from the {what} given to save_model",
    )
    # The state itself, too: outputs alone cannot tell a reload from a fresh model when the
    # network's output does not depend on its weights.
    saved, restored = got.get("original_state"), got.get("loaded_state")
    expect(
        isinstance(saved, dict) and len(saved) > 0,
        "MNISTNet has no parameters or buffers: there is nothing to save",
    )
    expect(
        isinstance(restored, dict) and set(restored) == set(saved),
        "the model returned by load_model has other state_dict entries than the model saved",
    )
    for name, value in saved.items():
        value = tensor(value, f"the saved model's {name}")
        expect(
            close(tensor(restored[name], f"the reloaded model's {name}"), value, atol=0.0),
            f"the reloaded model's {name} differs from the saved model's",
        )


@grade(
    cell="test_save_load",
    points=2,
    hint="save model.state_dict() (it holds the buffers too); load it into a new MNISTNet and call eval()",
)
def test_save_load_round_trip(nb, seed):
    """A freshly built MNISTNet, saved and reloaded, predicts exactly as before (batch-norm statistics included)."""
    g = rng(seed)
    n = randint(g, 2, 64)
    got = nb.call("save_load_fresh", images=_images(g, n), seed=seed, path=f"roundtrip_{seed}.pt")
    _check_reloaded(got, n, "freshly initialised MNISTNet (with its batch-norm statistics)")


@grade(
    cell="test_save_load",
    points=1,
    hint="load with map_location=device and return the new model in eval mode",
)
def test_save_load_trained_model(nb, seed):
    """The trained mnist_model, saved and reloaded, predicts exactly as before."""
    g = rng(seed)
    images, _ = mnist_test_split()
    pick = torch.randperm(len(images), generator=g)[:500]
    got = nb.call("save_load_trained", images=images[pick], path=f"mnist_model_{seed}.pt")
    _check_reloaded(got, 500, "trained mnist_model")


# --- The project's goal: accuracy of mnist_model on the hidden test split ----------------------

_ACCURACY: dict = {}


def _test_accuracy(nb):
    if id(nb) not in _ACCURACY:  # both accuracy tests score the same predictions
        _ACCURACY[id(nb)] = hidden_test_accuracy(
            nb, "mnist_model_predictions", "mnist_model's predictions"
        )
    return _ACCURACY[id(nb)]


@grade(
    cell="test_accuracy",
    points=3,
    hint="aim for 99.3 % on the validation set; train longer or wider if you are below",
)
def test_accuracy_at_least_98(nb, record_property):
    """mnist_model classifies at least 98 % of the hidden test digits correctly."""
    acc = _test_accuracy(nb)
    record_property("accuracy", acc)  # the Gradescope leaderboard's entry
    expect(
        acc >= 0.98,
        f"mnist_model classifies {acc:.2%} of the hidden test digits correctly; "
        "these points need at least 98%",
    )


@grade(
    cell="test_accuracy",
    points=3,
    hint="aim for 99.3 % on the validation set; train longer or wider if you are below",
)
def test_accuracy_at_least_99(nb):
    """mnist_model classifies at least 99 % of the hidden test digits correctly."""
    acc = _test_accuracy(nb)
    expect(
        acc >= 0.99,
        f"mnist_model classifies {acc:.2%} of the hidden test digits correctly; "
        "these points need at least 99%",
    )


# --- Exercise 6: expected_calibration_error -------------------------------------------------------


def _reference_ece(probs, labels, bins):
    """ECE in float64 with equal-width bins closed on the right: ((b-1)/B, b/B]."""
    confidence, predicted = probs.double().max(dim=1)
    correct = (predicted == labels).double()
    index = (confidence * bins).ceil().long().clamp(1, bins) - 1
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += members.double().mean().item() * abs(
                correct[members].mean().item() - confidence[members].mean().item()
            )
    return total


def _calibration_case(g, bins):
    """Random probabilities whose confidences keep clear of every bin edge (1e-5 away), so that
    float32 rounding cannot move a prediction into the next bin."""
    n, k = randint(g, 50, 2000), randint(g, 2, 12)
    temperature = float(torch.rand(1, generator=g)) * 3 + 0.3
    logits = torch.randn(n, k, generator=g) * temperature
    edges = torch.arange(1, (bins or 15), dtype=torch.float64) / (bins or 15)
    for _ in range(100):
        probs = torch.softmax(logits, dim=1)
        near = ((probs.max(dim=1).values.double()[:, None] - edges).abs() < 1e-5).any(dim=1)
        if not near.any():
            break
        logits[near] = torch.randn(int(near.sum()), k, generator=g) * temperature
    predicted = probs.argmax(dim=1)
    right = torch.rand(n, generator=g) < float(torch.rand(1, generator=g)) * 0.8 + 0.1
    labels = torch.where(right, predicted, torch.randint(0, k, (n,), generator=g))
    return {"probs": probs, "labels": labels, "bins": bins}


def _ece_values(nb, cases):
    got = nb.call("calibration", cases=cases)
    expect(
        isinstance(got, list) and len(got) == len(cases),
        "expected_calibration_error's results could not be read",
    )
    return [number(v, "expected_calibration_error's result") for v in got]


@grade(
    cell="test_calibration",
    points=2,
    hint="bin by the confidence max_k p_k, weight each bin by its share of the predictions, "
    "and compare its accuracy with its mean confidence",
)
def test_ece_matches_reference(nb, seed):
    """expected_calibration_error equals the weighted bin gap |accuracy - confidence| on random predictions."""
    g = rng(seed)
    cases = [_calibration_case(g, bins) for bins in (None, randint(g, 3, 9), randint(g, 10, 30))]
    got = _ece_values(nb, cases)
    for value, case in zip(got, cases):
        expected = _reference_ece(case["probs"], case["labels"], case["bins"] or 15)
        what = "the default 15 bins" if case["bins"] is None else f"bins={case['bins']}"
        expect(
            abs(value - expected) <= 2e-5 + 1e-4 * expected,
            f"expected_calibration_error is wrong for {len(case['labels'])} predictions of "
            f"{case['probs'].shape[1]} classes with {what}",
        )


@grade(
    cell="test_calibration",
    points=1,
    hint="the confidence is the largest probability of each row, whatever the label",
)
def test_ece_extremes(nb, seed):
    """ECE is 0 for sure and right predictions and 1 for sure and wrong ones."""
    g = rng(seed)
    n, k = randint(g, 5, 200), randint(g, 2, 10)
    labels = torch.randint(0, k, (n,), generator=g)
    right = torch.nn.functional.one_hot(labels, k).float()
    wrong = torch.nn.functional.one_hot(
        (labels + torch.randint(1, k, (n,), generator=g)) % k, k
    ).float()
    bins = randint(g, 2, 20)
    got = _ece_values(
        nb,
        [
            {"probs": right, "labels": labels, "bins": bins},
            {"probs": wrong, "labels": labels, "bins": bins},
        ],
    )
    expect(
        abs(got[0]) <= 1e-6,
        "predictions made with probability 1 that are all right should have an ECE of 0",
    )
    expect(
        abs(got[1] - 1) <= 1e-6,
        "predictions made with probability 1 that are all wrong should have an ECE of 1",
    )


# --- Exercise 7: export_model ---------------------------------------------------------------------


def _check_parity(onnx, eager, what):
    """ONNX Runtime's logits against PyTorch's: same predictions (clear rows), probabilities 1e-4."""
    expect(
        not isinstance(onnx, str),
        f"ONNX Runtime could not run your ONNX file ({what}): {str(onnx)[:300]}",
    )
    onnx = tensor(onnx, f"the output of your ONNX file ({what})", shape=eager.shape)
    p_onnx, p_eager = torch.softmax(onnx.double(), dim=1), torch.softmax(eager.double(), dim=1)
    expect(
        close(p_onnx, p_eager, atol=1e-4),
        f"the ONNX file and the PyTorch model disagree ({what}): export the model's eval-mode logits",
    )
    clear = _clear_rows(eager.double())
    expect(
        bool((onnx.argmax(dim=1) == eager.argmax(dim=1))[clear].all()),
        f"the ONNX file predicts other classes than the PyTorch model ({what})",
    )


def _export_run(nb, seed):
    g = rng(seed)
    batches = [_images(g, 1), _images(g, randint(g, 2, 64))]
    got = nb.call(
        "export_probe_model",
        batches=batches,
        channels=randint(g, 3, 8),
        seed=seed,
        path=f"export_{seed}.onnx",
    )
    return batches, got


@grade(
    cell="test_export",
    points=2,
    hint="export an eval-mode copy, and mark the first (batch) dimension as dynamic",
)
def test_export_matches_eager(nb, seed):
    """The ONNX file, run by ONNX Runtime, matches the model in eval mode on batches of 1 and of n images."""
    batches, got = _export_run(nb, seed)
    for x, onnx, eager in zip(batches, got["onnx"], got["eager"]):
        _check_parity(
            onnx, tensor(eager, "the model's logits", shape=(len(x), 10)), f"a batch of {len(x)}"
        )


@grade(
    cell="test_export", points=1, hint="export a copy (copy.deepcopy(model)), not the model itself"
)
def test_export_leaves_model_unchanged(nb, seed):
    """export_model writes the file and leaves the model on its device and in its mode (training)."""
    _, got = _export_run(nb, seed)
    expect(got.get("written") is True, "export_model wrote no file at the path it was given")
    expect(
        got["device_after"] == got["device_before"],
        "export_model moved the model to another device",
    )
    expect(
        got["training_after"] is True,
        "export_model switched the model out of training mode: export an eval-mode copy instead",
    )


@grade(
    cell="test_export",
    points=1,
    hint="the notebook should write mnist_bundle/model.onnx with export_model(mnist_model, ...)",
)
def test_bundle_model_matches_mnist_model(nb, seed):
    """mnist_bundle/model.onnx gives the same predictions as mnist_model on hidden test digits."""
    g = rng(seed)
    images, _ = mnist_test_split()
    pick = torch.randperm(len(images), generator=g)[:1000]
    got = nb.call("bundle_model", images=images[pick], batch_size=randint(g, 100, 400))
    expect(not got["missing"], "the notebook did not write mnist_bundle/model.onnx")
    _check_parity(
        got["onnx"],
        tensor(got["eager"], "mnist_model's logits", shape=(1000, 10)),
        "mnist_bundle/model.onnx against mnist_model",
    )


# --- Exercise 8: preprocess_digit -------------------------------------------------------------------


def _ink_box(image, level=0.5):
    """(top, bottom, left, right) of the pixels brighter than level · max (inclusive)."""
    mask = image > level * image.max()
    rows, cols = mask.any(dim=1).nonzero().squeeze(1), mask.any(dim=0).nonzero().squeeze(1)
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def _photograph(digit, g):
    """A judge-made photo of an MNIST digit (28, 28): its ink enlarged 1.3-4 times, dark on light
    paper of a random grey, at a random place on a larger canvas, with a little noise; uint8."""
    top, bottom, left, right = _ink_box(digit, level=0.0 + 1e-6)
    ink = digit[top : bottom + 1, left : right + 1].double()
    scale = 1.3 + 2.7 * float(torch.rand(1, generator=g))
    size = (max(2, round(ink.shape[0] * scale)), max(2, round(ink.shape[1] * scale)))
    ink = torch.nn.functional.interpolate(
        ink[None, None], size=size, mode="bilinear", align_corners=False
    )[0, 0].clamp(0, 1)
    height = max(size[0] + max(8, size[0] // 2), 32) + randint(g, 0, 40)
    width = max(size[1] + max(8, size[1] // 2), 32) + randint(g, 0, 40)
    canvas = torch.zeros(height, width, dtype=torch.float64)
    y, x = randint(g, 2, height - size[0] - 2), randint(g, 2, width - size[1] - 2)
    canvas[y : y + size[0], x : x + size[1]] = ink
    paper = 0.7 + 0.3 * float(torch.rand(1, generator=g))
    pen = 0.25 * float(torch.rand(1, generator=g))
    noise = 0.02 * float(torch.rand(1, generator=g))
    photo = (
        paper
        - (paper - pen) * canvas
        + noise * torch.randn(canvas.shape, generator=g, dtype=torch.float64)
    )
    return (photo.clamp(0, 1) * 255).round().to(torch.uint8)


def _log_aspect(image):
    """log(sd of the ink's rows / sd of its columns), intensity-weighted: the digit's aspect ratio,
    insensitive to faint edge pixels (unlike a bounding box)."""
    image = image.double()
    mass = image.sum()
    rows = torch.arange(image.shape[0], dtype=image.dtype)
    cols = torch.arange(image.shape[1], dtype=image.dtype)
    p_rows, p_cols = image.sum(dim=1) / mass, image.sum(dim=0) / mass
    var_rows = (p_rows * (rows - (p_rows * rows).sum()) ** 2).sum()
    var_cols = (p_cols * (cols - (p_cols * cols).sum()) ** 2).sum()
    return 0.5 * math.log(max(var_rows.item(), 1e-9) / max(var_cols.item(), 1e-9))


def _centre_of_mass(image):
    mass = image.sum()
    rows = (image.sum(dim=1) * torch.arange(image.shape[0], dtype=image.dtype)).sum() / mass
    cols = (image.sum(dim=0) * torch.arange(image.shape[1], dtype=image.dtype)).sum() / mass
    return rows.item(), cols.item()


@grade(
    cell="test_preprocess",
    points=1,
    hint="invert, crop to the ink, scale the longer side to 20 pixels keeping the aspect ratio, "
    "and place the centre of mass at pixel (14, 14) of a 28 × 28 image of zeros",
)
def test_preprocess_digit_is_mnist_like(nb, seed):
    """preprocess_digit gives a (1, 28, 28) image in [0, 1]: bright digit on 0, 20-pixel box, aspect kept, centred."""
    g = rng(seed)
    images, _ = mnist_test_split()
    order = torch.randperm(len(images), generator=g)[:400]
    boxes = [_ink_box(images[i, 0]) for i in order.tolist()]
    ratios = torch.tensor([(b - t + 1) / (r - lft + 1) for t, b, lft, r in boxes])
    tall = order[ratios >= 2.2][:4]  # thin, upright digits (mostly ones)
    wide = order[ratios <= 1.2][:4]  # roughly square digits
    picks = torch.cat([tall, wide])
    canvases = [_photograph(images[i, 0], g) for i in picks.tolist()]
    got = nb.call("preprocess_outputs", canvases=canvases)
    expect(
        isinstance(got, list) and len(got) == len(canvases),
        "preprocess_digit's results could not be read",
    )
    aspect_errors = []
    for out, i in zip(got, picks.tolist()):
        out = tensor(out, "preprocess_digit's result", shape=(1, 28, 28), dtype=torch.float32)[
            0
        ].double()
        expect(
            float(out.min()) >= -1e-6 and float(out.max()) <= 1 + 1e-6,
            "preprocess_digit's values should lie in [0, 1]",
        )
        expect(
            float(out.max()) >= 0.5 and float(out.median()) <= 0.02,
            "preprocess_digit should give a bright digit on a background of 0 (invert the image)",
        )
        top, bottom, left, right = _ink_box(out, level=0.1)
        side = max(bottom - top + 1, right - left + 1)
        # The reference and three other correct solutions give 18-20 pixels on 1,500 photos.
        expect(
            16 <= side <= 22,
            f"the digit's ink should fill a 20 × 20 box (its longer side measures {side} pixels)",
        )
        cy, cx = _centre_of_mass(out)
        expect(
            abs(cy - 14) <= 1.0 and abs(cx - 14) <= 1.0,
            "preprocess_digit should place the digit's centre of mass at pixel (14, 14)",
        )
        aspect_errors.append(_log_aspect(out) - _log_aspect(images[i, 0]))
    # Correct solutions keep the moment-based aspect ratio within |error| <= 0.34 on each of
    # 1,500 photos (99th percentile 0.15; mean -0.06 on thin digits); stretching to 20 × 20
    # makes it -1.1 on average on thin digits (at least -0.67). Means over 4 and 8 digits with
    # a bound of 0.35 leave both sides far apart.
    tall_error = sum(aspect_errors[: len(tall)]) / max(len(tall), 1)
    mean_error = sum(abs(e) for e in aspect_errors) / len(aspect_errors)
    expect(
        abs(tall_error) <= 0.35 and mean_error <= 0.35,
        "preprocess_digit should keep the digit's aspect ratio (scale both sides by the same factor)",
    )


@grade(
    cell="test_preprocess",
    points=2,
    hint="look at what your preprocessing makes of a few photographed digits next to MNIST digits",
)
def test_preprocess_digit_keeps_accuracy(nb, seed):
    """mnist_model still reads at least 97 % of photographed hidden test digits after preprocess_digit."""
    g = rng(seed)
    images, labels = mnist_test_split()
    pick = torch.randperm(len(images), generator=g)[:PHOTOS]
    canvases = [_photograph(images[i, 0], g) for i in pick.tolist()]
    acc = accuracy(
        nb.call("preprocess_predictions", canvases=canvases),
        labels[pick],
        "mnist_model's predictions after preprocess_digit",
    )
    expect(
        acc >= 0.97,
        f"after preprocess_digit, mnist_model reads only {acc:.1%} of {PHOTOS:,} photographed "
        "test digits correctly; these points need at least 97%",
    )


# --- Exercise 9: model_metadata and the bundle --------------------------------------------------------


def _wilson(p, n, z=1.96):
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _labelled(g, params, n):
    images = _images(g, n)
    logits = _classifier_logits(params, images)
    best = logits.argmax(dim=1)
    keep = torch.rand(n, generator=g) < float(torch.rand(1, generator=g)) * 0.6 + 0.3
    labels = torch.where(keep, best, torch.randint(0, 10, (n,), generator=g))
    clear = _clear_rows(logits)
    low = ((best == labels) & clear).sum().item() / n
    return images, labels, (low, low + (~clear).sum().item() / n)


def _metadata_run(nb, seed):
    g = rng(seed)
    params = _classifier_params(g)
    val = _labelled(g, params, randint(g, 100, 400))
    held = _labelled(g, params, randint(g, 401, 900))
    train_seed = randint(g, 0, 10**6)
    got = nb.call(
        "metadata_probe_model",
        params=params,
        val_images=val[0],
        val_labels=val[1],
        heldout_images=held[0],
        heldout_labels=held[1],
        seed=train_seed,
    )
    expect(
        "error" not in got, f"model_metadata's dict cannot be written as JSON ({got.get('error')})"
    )
    expect(isinstance(got["data"], dict), "model_metadata should return a dict")
    return got, val, held, train_seed, params


def _field(data, *keys):
    value = data
    for key in keys:
        expect(isinstance(value, dict) and key in value, f"model_metadata has no {'/'.join(keys)}")
        value = value[key]
    return value


@grade(
    cell="test_metadata",
    points=2,
    hint="measure each split with evaluate; the Wilson interval uses z = 1.96 and that split's n",
)
def test_model_metadata_accuracy(nb, seed):
    """model_metadata reports each split's accuracy, size and Wilson 95 % interval."""
    got, val, held, _, _ = _metadata_run(nb, seed)
    for split, (images, _, (low, high)) in (("validation", val), ("heldout", held)):
        acc = number(
            _field(got["data"], "accuracy", split, "accuracy"), f"accuracy/{split}/accuracy"
        )
        n = _field(got["data"], "accuracy", split, "n")
        expect(
            type(n) is int and n == len(images),
            f"accuracy/{split}/n should be the number of images of that split",
        )
        expect(
            low - 1e-9 <= acc <= high + 1e-9,
            f"accuracy/{split}/accuracy should be the model's accuracy on the {split} data (measured with evaluate)",
        )
        interval = _field(got["data"], "accuracy", split, "ci95")
        expect(
            isinstance(interval, list) and len(interval) == 2,
            f"accuracy/{split}/ci95 should be a list [low, high]",
        )
        lo, hi = (number(v, f"accuracy/{split}/ci95") for v in interval)
        ref_lo, ref_hi = _wilson(acc, n)
        expect(
            abs(lo - ref_lo) <= 1e-6 and abs(hi - ref_hi) <= 1e-6,
            f"accuracy/{split}/ci95 should be the Wilson 95% interval (z = 1.96) of that accuracy",
        )


@grade(cell="test_metadata", points=1, hint="follow the table of keys in the exercise exactly")
def test_model_metadata_fields(nb, seed):
    """model_metadata's input spec, normalisation, class names, parameter count, latencies, version and seed."""
    got, _, _, train_seed, params = _metadata_run(nb, seed)
    data = got["data"]
    expect(_field(data, "input", "shape") == [1, 28, 28], "input/shape should be [1, 28, 28]")
    expect(_field(data, "input", "dtype") == "float32", 'input/dtype should be "float32"')
    expect(_field(data, "input", "range") == [0, 1], "input/range should be [0.0, 1.0]")
    for key, value in (("mean", MEAN), ("std", STD)):
        got_value = number(_field(data, "normalisation", key), f"normalisation/{key}")
        expect(abs(got_value - value) <= 1e-4, f"normalisation/{key} should be MNIST's {key}")
    expect(
        _field(data, "class_names") == [str(k) for k in range(10)],
        'class_names should be "0" ... "9"',
    )
    count = _field(data, "n_parameters")
    expected = sum(v.numel() for k, v in params.items() if k not in ("running_mean", "running_var"))
    expect(
        type(count) is int and count == expected,
        "n_parameters should count the numbers in model.parameters() (not the buffers)",
    )
    for key in ("batch_1", "batch_256"):
        ms = number(_field(data, "latency_ms", key), f"latency_ms/{key}")
        expect(0 < ms < 60_000, f"latency_ms/{key} should be a time in milliseconds")
    expect(
        _field(data, "torch_version") == got["torch_version"],
        "torch_version should be torch.__version__",
    )
    expect(_field(data, "seed") == train_seed, "seed should be the seed model_metadata is given")
    expect(
        got["device_after"] == got["device_before"],
        "model_metadata should leave the model on its device",
    )


@grade(
    cell="test_metadata",
    points=1,
    hint="write mnist_bundle/metadata.json from model_metadata(mnist_model, ...) after training",
)
def test_bundle_metadata_agrees(nb, seed):
    """mnist_bundle/metadata.json describes mnist_model; its held-out accuracy agrees with the hidden test set's."""
    got = nb.call("bundle_metadata")
    expect(not got["missing"], "the notebook did not write mnist_bundle/metadata.json")
    expect("error" not in got, f"mnist_bundle/metadata.json is not valid JSON ({got.get('error')})")
    data = got["data"]
    expect(isinstance(data, dict), "mnist_bundle/metadata.json should hold a JSON object")
    for name in ("model.onnx", "MODEL_CARD.md", "predict.py"):
        expect(name in got["files"], f"mnist_bundle/ should hold {name}")
    expect(
        _field(data, "n_parameters") == got["n_parameters"],
        "mnist_bundle/metadata.json's n_parameters should be mnist_model's",
    )
    reported = number(_field(data, "accuracy", "heldout", "accuracy"), "accuracy/heldout/accuracy")
    n_heldout = _field(data, "accuracy", "heldout", "n")
    expect(
        type(n_heldout) is int and n_heldout >= 100,
        "accuracy/heldout/n should be the held-out split's size",
    )
    measured = _test_accuracy(nb)
    n_test = len(mnist_test_split()[1])
    # Two independent estimates of (nearly) the same accuracy: the held-out split's and the
    # hidden test split's. Their difference has standard deviation sqrt(q(1-q)(1/n_h + 1/n_t))
    # for an error rate q (floored at 0.5%, above what any model here reaches); 5 standard
    # deviations bound the chance that a correct report fails by 6e-7, and 0.3 percentage
    # points more allow for the test digits being written by partly other people.
    q = max(1 - measured, 0.005)
    tolerance = 5 * math.sqrt(q * (1 - q) * (1 / n_heldout + 1 / n_test)) + 0.003
    expect(
        abs(reported - measured) <= tolerance,
        f"mnist_bundle/metadata.json reports a held-out accuracy of {reported:.2%}, far from what mnist_model "
        "does on the hidden test digits: measure it with evaluate on the held-out split, after training",
    )
