"""dlcourse.probing, the helpers probes share: a model's device, standardised MNIST, batched
eval-mode predictions on the model's own device, a module's structure, one optimiser step."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dlcourse import probing
from dlcourse.data import MEAN, STD


def test_model_device_is_the_first_parameter_s_then_buffer_s_then_the_default():
    assert probing.model_device(nn.Linear(2, 3)) == torch.device("cpu")
    assert probing.model_device(nn.BatchNorm1d(3, affine=False)) == torch.device("cpu")
    assert probing.model_device(nn.ReLU()) == torch.device("cpu")
    assert probing.model_device(nn.ReLU(), default="meta") == torch.device("meta")
    assert probing.model_device(nn.Linear(2, 3).to("meta"), default="cpu") == torch.device("meta")


def test_standardize_is_what_load_mnist_normalize_applies():
    images = torch.tensor([0.0, MEAN, 1.0])
    assert torch.allclose(
        probing.standardize(images), torch.tensor([-MEAN / STD, 0.0, (1 - MEAN) / STD])
    )
    assert (probing.MEAN, probing.STD) == (MEAN, STD)


class Spy(nn.Module):
    """A linear classifier that records the batches and modes it was called with."""

    def __init__(self, classes=4):
        super().__init__()
        self.linear = nn.Linear(6, classes)
        self.seen = []

    def forward(self, x):
        self.seen.append((x.shape[0], self.training, torch.is_grad_enabled(), x.device.type))
        return self.linear(x.flatten(1))


@settings(max_examples=40)
@given(st.integers(0, 50), st.integers(1, 20), st.integers(0, 2**31))
def test_predict_labels_is_argmax_in_eval_mode_without_autograd_in_batches(n, batch, seed):
    torch.manual_seed(seed)
    model = Spy().train()
    images = torch.randn(n, 2, 3)
    got = probing.predict_labels(model, images, batch_size=batch)
    assert got.dtype == torch.long and got.shape == (n,)
    model.seen.clear()
    with torch.no_grad():
        assert torch.equal(got, model.linear(images.flatten(1)).argmax(dim=1))
    model.seen.clear()
    probing.predict_labels(model, images, batch_size=batch)
    assert [size for size, *_ in model.seen] == [len(b) for b in images.split(batch)]
    assert {seen[1:] for seen in model.seen} <= {(False, False, "cpu")}
    assert not model.training  # left in eval mode: probes report what the student's code does


def test_predict_labels_prepares_each_batch():
    model = Spy()
    images = torch.rand(7, 6)
    prepared = []
    got = probing.predict_labels(
        model, images, batch_size=3, prepare=lambda b: prepared.append(len(b)) or b * 2
    )
    assert prepared == [3, 3, 1]
    with torch.no_grad():
        assert torch.equal(got, model.linear(images * 2).argmax(dim=1))


def test_predict_labels_of_no_images_is_an_empty_long_tensor():
    got = probing.predict_labels(Spy(), torch.zeros(0, 6))
    assert got.dtype == torch.long and got.shape == (0,)


def test_predict_labels_runs_a_model_without_parameters_on_the_default_device():
    class ArgmaxOfInput(nn.Module):
        def forward(self, x):
            assert x.device.type == "cpu"
            return x

    x = torch.tensor([[0.0, 1.0], [2.0, 1.0]])
    assert probing.predict_labels(ArgmaxOfInput(), x, default_device="cpu").tolist() == [1, 0]


def test_describe_reports_a_module_s_structure_as_data():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 2))).eval()
    assert probing.describe(model) == {
        "type": "Sequential",
        "is_sequential": True,
        "children": ["Linear", "ReLU", "Sequential"],
        "modules": ["Sequential", "Linear", "ReLU", "Sequential", "Linear"],
        "n_params": 3 * 4 + 4 + 4 * 2 + 2,
        "training": False,
    }
    assert probing.describe(nn.ReLU())["n_params"] == 0
    assert probing.describe(nn.Linear(2, 2))["training"] is True


@given(
    st.lists(st.floats(-10, 10, width=32), min_size=1, max_size=6), st.floats(0.0, 2.0, width=32)
)
def test_optimizer_step_applies_one_update_to_fresh_leaves(values, lr):
    grads = [torch.tensor(v) * 0.5 + 1 for v in values]
    originals = [torch.tensor(v) for v in values]
    seen = []

    def sgd(params):
        seen.extend((p.is_leaf, p.requires_grad, p.dtype) for p in params)
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad

    got = probing.optimizer_step(sgd, [o.clone() for o in originals], grads)
    assert seen == [(True, True, torch.float32)] * len(values)
    for new, old, g in zip(got, originals, grads):
        assert not new.requires_grad
        assert torch.equal(new, (old - torch.tensor(lr) * g))


def test_optimizer_step_leaves_the_caller_s_tensors_alone():
    values, grads = [torch.ones(3)], [torch.full((3,), 2.0)]

    def zero(params):
        with torch.no_grad():
            params[0].zero_()
        params[0].grad.zero_()

    assert torch.equal(probing.optimizer_step(zero, values, grads)[0], torch.zeros(3))
    assert torch.equal(values[0], torch.ones(3)) and torch.equal(grads[0], torch.full((3,), 2.0))


def test_optimizer_step_turns_nested_lists_into_float32_tensors():
    got = probing.optimizer_step(lambda params: None, [[1, 2]], [[0, 0]])
    assert got[0].dtype == torch.float32 and got[0].tolist() == [1.0, 2.0]


def test_the_module_exports_its_helpers():
    for name in probing.__all__:
        assert callable(getattr(probing, name)) or name in ("MEAN", "STD")


@pytest.mark.parametrize(
    "name", ["describe", "model_device", "optimizer_step", "predict_labels", "standardize"]
)
def test_each_helper_says_why_in_its_docstring(name):
    assert (getattr(probing, name).__doc__ or "").strip()
