"""Hidden graders for Module 6 — the MNIST CNN project.

Every input is drawn at run time from the ``seed`` fixture; expected values are computed
here, in float64, from the inputs. Models that are not under test are the probes' own, so
each test depends only on the code it grades. The trained model the notebook leaves in
``mnist_model`` is scored on the hidden test split, whose labels never leave this process.
"""

import torch

from dlcourse.checks import accuracy, close, expect, grade, hidden_test_accuracy, mnist_test_split, number, randint, rng, tensor

PARAM_LIMIT = 1_000_000
TIE_GAP = 1e-3  # rows whose top two reference logits are closer than this may go either way


def _images(g, n):
    return torch.rand(n, 1, 28, 28, generator=g)


# --- Exercise 1: MNISTNet --------------------------------------------------------------

def _mnistnet(nb, seed, n):
    g = rng(seed)
    got = nb.call("mnistnet", x=_images(g, n), seed=seed)
    for mode in ("eval", "train"):
        expect(isinstance(got[mode], list) and len(got[mode]) == 2, "MNISTNet's outputs could not be read")
        for out in got[mode]:
            tensor(out, f"MNISTNet's output ({mode} mode)", shape=(n, 10))
    return got


def _has_layer(layers, base):
    return any(base in names for names in layers)


@grade(cell="test_mnistnet", points=1)
def test_mnistnet_returns_logits(nb, seed):
    n = randint(rng(seed), 2, 16)
    got = _mnistnet(nb, seed, n)
    out = got["eval"][0].double()
    looks_like_probabilities = bool((out >= 0).all()) and close(out.sum(dim=1), torch.ones(n), atol=1e-3)
    expect(not looks_like_probabilities, "MNISTNet should return logits (raw class scores), not probabilities: "
                                         "leave the softmax to the loss and to predict_proba")


@grade(cell="test_mnistnet", points=1)
def test_mnistnet_is_a_small_cnn(nb, seed):
    got = _mnistnet(nb, seed, 2)
    expect(_has_layer(got["layers"], "_ConvNd"), "MNISTNet should have convolution layers (nn.Conv2d)")
    count = sum(tensor(p, "a parameter of MNISTNet").numel() for p in got["params"])
    expect(count <= PARAM_LIMIT, f"MNISTNet has {count:,} parameters; keep it at most {PARAM_LIMIT:,}")


@grade(cell="test_mnistnet", points=1)
def test_mnistnet_has_batchnorm(nb, seed):
    got = _mnistnet(nb, seed, 2)
    expect(_has_layer(got["layers"], "_BatchNorm"), "MNISTNet should use batch normalization (nn.BatchNorm2d)")


@grade(cell="test_mnistnet", points=1)
def test_mnistnet_dropout_only_in_training(nb, seed):
    n = randint(rng(seed), 2, 16)
    got = _mnistnet(nb, seed, n)
    expect(_has_layer(got["layers"], "_DropoutNd"), "MNISTNet should use dropout (nn.Dropout)")
    expect(close(got["eval"][0], got["eval"][1], atol=1e-6),
           "MNISTNet in eval mode gives different outputs for the same images: dropout must be off in eval mode")
    # Two training-mode passes draw independent dropout masks; identical outputs would need
    # every mask to coincide, which has negligible probability for any real dropout layer.
    differ = (got["train"][0].double() - got["train"][1].double()).abs().max().item() > 1e-4
    expect(differ, "MNISTNet in training mode gives the same outputs twice: its dropout is not active in forward")


# --- Exercise 2: evaluate and train ------------------------------------------------------

def _classifier_params(g, d=784, k=10):
    return {"weight": torch.randn(k, d, generator=g) * 0.05, "bias": torch.randn(k, generator=g) * 0.1,
            "running_mean": torch.randn(k, generator=g) * 0.3, "running_var": torch.rand(k, generator=g) * 1.5 + 0.5,
            "gamma": torch.rand(k, generator=g) + 0.5, "beta": torch.randn(k, generator=g) * 0.5}


def _classifier_logits(params, images):
    """The probe classifier's eval-mode logits, in float64: BatchNorm1d(eps=1e-5) after Linear."""
    p = {k: v.double() for k, v in params.items()}
    z = images.double().reshape(len(images), -1) @ p["weight"].T + p["bias"]
    return (z - p["running_mean"]) / torch.sqrt(p["running_var"] + 1e-5) * p["gamma"] + p["beta"]


def _clear_rows(logits):
    """Rows whose top class wins by at least TIE_GAP: float32 rounding cannot change them."""
    top2 = logits.topk(2, dim=1).values
    return (top2[:, 0] - top2[:, 1]) >= TIE_GAP


@grade(cell="test_training", points=1)
def test_evaluate_accuracy_in_eval_mode(nb, seed):
    g = rng(seed)
    params = _classifier_params(g)
    n = randint(g, 200, 1500)
    images = _images(g, n)
    logits = _classifier_logits(params, images)
    best = logits.argmax(dim=1)
    keep = torch.rand(n, generator=g) < float(torch.rand(1, generator=g)) * 0.6 + 0.3
    labels = torch.where(keep, best, torch.randint(0, 10, (n,), generator=g))
    got = number(nb.call("evaluate", params=params, images=images, labels=labels), "evaluate's result")
    clear = _clear_rows(logits)
    low = ((best == labels) & clear).sum().item() / n
    high = low + (~clear).sum().item() / n
    expect(low - 1e-9 <= got <= high + 1e-9,
           "evaluate should return the fraction (between 0 and 1) of correctly classified images, "
           "with the model in eval mode")


def _scripted_run(nb, seed):
    """Train a probe model whose validation accuracy after each epoch is chosen here.

    The best epoch is never the last one, so keeping the last weights cannot pass.
    """
    g = rng(seed)
    epochs, n_val = randint(g, 3, 5), 200
    counts = (torch.randperm(171, generator=g)[:epochs] + 20).sort(descending=True).values  # distinct
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
    got = nb.call("train_scripted", train_images=_images(g, 1000),
                  train_labels=torch.randint(0, 10, (1000,), generator=g), val_images=val_images,
                  val_labels=val_labels, answers=torch.stack(answers), epochs=epochs, seed=seed)
    return got, (order.double() / n_val).tolist(), best


@grade(cell="test_training", points=1)
def test_train_reports_validation_accuracy(nb, seed):
    got, expected, _ = _scripted_run(nb, seed)
    history = got["history"]
    expect(isinstance(history, dict) and "val_accuracy" in history,
           'train should return a dict with a "val_accuracy" list')
    values = history["val_accuracy"]
    expect(isinstance(values, (list, tuple)) and len(values) == len(expected),
           f'history["val_accuracy"] should hold one accuracy per epoch ({len(expected)} for {len(expected)} epochs)')
    values = [number(v, 'an entry of history["val_accuracy"]') for v in values]
    expect(all(abs(v - e) <= 1e-6 for v, e in zip(values, expected)),
           'history["val_accuracy"] should be the validation accuracy (a fraction, measured with evaluate) '
           "after each epoch")


@grade(cell="test_training", points=1)
def test_train_uses_training_mode(nb, seed):
    got, _, _ = _scripted_run(nb, seed)
    steps = number(got["eval_mode_steps"], "the number of training steps taken in eval mode")
    expect(steps == 0, f"{steps:g} training steps ran with the model in eval mode: call model.train() at the "
                       "start of every epoch (evaluate leaves the model in eval mode)")


@grade(cell="test_training", points=2)
def test_train_keeps_best_checkpoint(nb, seed):
    got, _, best = _scripted_run(nb, seed)
    expect(number(got["epoch"], "the trained model's state") == best + 1,
           "when train returns, the model should hold the weights of its best epoch on the validation set "
           "(a copy of the state_dict taken then, loaded back at the end)")


@grade(cell="test_training", points=1)
def test_train_learns_mnist(nb, seed):
    from dlcourse.data import load_mnist

    g = rng(seed)
    images, labels = load_mnist("train")
    order = torch.randperm(len(images), generator=g)
    train_idx, val_idx = order[:3000], order[3000:4000]
    got = nb.call("train_learns", train_images=images[train_idx], train_labels=labels[train_idx],
                  val_images=images[val_idx], val_labels=labels[val_idx], epochs=3, seed=seed)
    acc = accuracy(got, labels[val_idx], "the trained model's predictions")
    # This only asks whether train trains at all: an untrained model scores about 10%. With
    # the reference train the probe's small CNN reaches 90% on new digits after 3 epochs on
    # 3,000 (30 random seeds: mean 90.0%, sd 1.2%, min 86.9%), so 50% lies more than 30
    # standard deviations below. The 1,000 test digits add sampling noise: by Hoeffding the
    # measured accuracy falls 0.3 below the model's true accuracy with probability at most
    # exp(-2·1000·0.3²) < 1e-78.
    expect(acc >= 0.5, f"train does not seem to train: a small CNN trained with it for 3 epochs on 3,000 "
                       f"digits classifies only {acc:.1%} of new digits correctly")


# --- Exercise 3: predict_proba and predict -------------------------------------------------

def _predict_inputs(seed):
    g = rng(seed)
    params = _classifier_params(g)
    images = _images(g, randint(g, 2, 300))
    return params, images, _classifier_logits(params, images)


@grade(cell="test_predict", points=2)
def test_predict_proba_is_eval_mode_softmax(nb, seed):
    params, images, logits = _predict_inputs(seed)
    got = nb.call("predict_proba", params=params, images=images)
    probs = tensor(got[0], "predict_proba's result", shape=logits.shape)
    expect(close(probs.sum(dim=1), torch.ones(len(images)), atol=1e-5), "each row of predict_proba should sum to 1")
    expect(close(probs, torch.softmax(logits, dim=1), atol=1e-5, rtol=1e-4),
           "predict_proba should return the softmax of the model's logits, with the model in eval mode")


@grade(cell="test_predict", points=1)
def test_predict_proba_is_deterministic(nb, seed):
    params, images, logits = _predict_inputs(seed)
    first, second = nb.call("predict_proba", params=params, images=images)
    first = tensor(first, "predict_proba's result", shape=logits.shape)
    second = tensor(second, "predict_proba's result", shape=logits.shape)
    expect(close(first, second, atol=1e-6),
           "predict_proba gives different answers for the same images: put the model in eval mode")


@grade(cell="test_predict", points=1)
def test_predict_labels(nb, seed):
    params, images, logits = _predict_inputs(seed)
    got = tensor(nb.call("predict", params=params, images=images), "predict's result", shape=(len(images),))
    expect(not got.is_floating_point() and not got.is_complex() and got.dtype != torch.bool,
           f"predict should return integer class labels, got {got.dtype}")
    clear = _clear_rows(logits)
    expect(bool((got.long() == logits.argmax(dim=1))[clear].all()),
           "predict should return the most probable class of each image (model in eval mode)")


# --- Exercise 4: confusion_matrix --------------------------------------------------------------

def _reference_confusion(preds, labels, k):
    matrix = torch.zeros(k, k, dtype=torch.float64)
    for p, t in zip(preds.tolist(), labels.tolist()):
        matrix[t, p] += 1
    return matrix


def _confusion(nb, preds, labels, k, name="confusion_matrix's result"):
    inputs = {"preds": preds, "labels": labels} if k is None else {"preds": preds, "labels": labels, "num_classes": k}
    got = tensor(nb.call("confusion_matrix", **inputs), name, shape=(k or 10, k or 10))
    expect(not got.is_complex() and got.dtype != torch.bool, "confusion_matrix should hold counts")
    return got.double()


@grade(cell="test_confusion_matrix", points=2)
def test_confusion_matrix_counts(nb, seed):
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
    expect(torch.equal(got, expected),
           "confusion_matrix[i, j] should count the images of true class i predicted as class j")


@grade(cell="test_confusion_matrix", points=1)
def test_confusion_matrix_num_classes(nb, seed):
    g = rng(seed)
    for k in (None, randint(g, 3, 12)):
        present = randint(g, 1, (k or 10) - 1)  # the highest classes never occur
        n = randint(g, 1, 100)
        labels = torch.randint(0, present, (n,), generator=g)
        preds = torch.randint(0, present, (n,), generator=g)
        got = _confusion(nb, preds, labels, k)
        expected = _reference_confusion(preds, labels, k or 10)
        # the orientation (rows = true labels) is graded by test_confusion_matrix_counts
        expect(torch.equal(got, expected) or torch.equal(got, expected.T),
               "confusion_matrix should be num_classes × num_classes (10 × 10 by default), "
               "even when some classes never occur")


# --- Exercise 5: save_model and load_model -------------------------------------------------------

def _check_reloaded(got, n, what):
    expect(got["same_object"] is False, "load_model should build a new model from the saved file")
    expect(got.get("training") is False, "load_model should return the model in eval mode (model.eval())")
    original = tensor(got["original"], f"the {what}'s logits", shape=(n, 10))
    loaded = tensor(got["loaded"], "the reloaded model's logits", shape=(n, 10))
    expect(close(loaded, original, atol=1e-4, rtol=1e-4),
           f"the model returned by load_model predicts differently from the {what} given to save_model")


@grade(cell="test_save_load", points=2)
def test_save_load_round_trip(nb, seed):
    g = rng(seed)
    n = randint(g, 2, 64)
    got = nb.call("save_load_fresh", images=_images(g, n), seed=seed, path=f"roundtrip_{seed}.pt")
    _check_reloaded(got, n, "freshly initialised MNISTNet (with its batch-norm statistics)")


@grade(cell="test_save_load", points=1)
def test_save_load_trained_model(nb, seed):
    g = rng(seed)
    images, _ = mnist_test_split()
    pick = torch.randperm(len(images), generator=g)[:500]
    got = nb.call("save_load_trained", images=images[pick], path=f"mnist_model_{seed}.pt")
    _check_reloaded(got, 500, "trained mnist_model")


# --- The project's goal: accuracy of mnist_model on the hidden test split ----------------------

_ACCURACY: dict = {}


def _test_accuracy(nb):
    if id(nb) not in _ACCURACY:  # both accuracy tests score the same predictions
        _ACCURACY[id(nb)] = hidden_test_accuracy(nb, "mnist_model_predictions", "mnist_model's predictions")
    return _ACCURACY[id(nb)]


@grade(cell="test_accuracy", points=3)
def test_accuracy_at_least_98(nb, record_property):
    acc = _test_accuracy(nb)
    record_property("accuracy", acc)  # the Gradescope leaderboard's entry
    expect(acc >= 0.98, f"mnist_model classifies {acc:.2%} of the hidden test digits correctly; "
                        "these points need at least 98%")


@grade(cell="test_accuracy", points=3)
def test_accuracy_at_least_99(nb):
    acc = _test_accuracy(nb)
    expect(acc >= 0.99, f"mnist_model classifies {acc:.2%} of the hidden test digits correctly; "
                        "these points need at least 99%")
