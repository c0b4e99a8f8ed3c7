"""Time to 99 % MNIST test accuracy: the final-project recipe vs the classic PyTorch example.

Both recipes run in the same harness, one after the other, on the same machine and data:
train on the 50,000-image fit split the notebook trains on (the first 50,000 of the course's
training split; the other 5,000 are its held-out split), measure the accuracy on the official
10,000 test images every 1/4 epoch (``--checks-per-epoch``), and stop as soon as it reaches
99 %. The clock runs only while training (data preparation, augmentation, forward, backward,
optimizer steps); the accuracy checks are paused out of it, so both recipes pay the same.

* ``project``: the reference recipe of Module 6 (source/06_mnist_cnn_project): a small CNN
  (three conv → max-pool → batch-norm → ReLU blocks of 16, 32, 64 channels, dropout, a linear
  head; normalisation inside the model), AdamW with a one-cycle learning-rate schedule over 8
  epochs, batch 128, random shifts of up to 2 pixels, channels-last memory layout; the training
  data moved to the model's device once, and batches cut and shifted there (so a GPU is not
  fed batch by batch from the CPU). It is re-implemented here, self-contained, because a benchmark
  must not import a notebook; keep the two in step when the notebook's recipe changes.
* ``classic``: the classic PyTorch MNIST example (pytorch/examples, mnist/main.py) with its
  defaults: two 3×3 convolutions of 32 and 64 channels, max-pool, dropout 0.25, 9216→128,
  dropout 0.5, 128→10, log-softmax + NLL loss, Adadelta lr 1.0 with StepLR γ 0.7 per epoch,
  batch 64, inputs normalised with MNIST's mean and std, no augmentation; batches cut on the
  CPU and copied to the device one by one, as its DataLoader does.

Each recipe runs once per seed (``--seeds``, default 3: one run is noisy, since the accuracy
of both recipes wobbles by a few tenths of a percent from check to check); the ratio is that
of the median times.

Usage:  python benchmarks/mnist_time_to_99.py [--target 0.99] [--checks-per-epoch 4] [--seeds 3]
CUDA is used when available. Prints the device, every check, the times and their ratio.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.data import MEAN, STD, load_mnist

# --- the final-project recipe (self-contained re-implementation) ---------------------------


class ProjectNet(nn.Module):
    """Three conv-maxpool-BN-ReLU blocks (16, 32, 64 channels), dropout 0.25, linear head."""

    def __init__(self):
        super().__init__()

        def block(c_in, c_out):
            return nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.MaxPool2d(2),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            )

        self.features = nn.Sequential(block(1, 16), block(16, 32), block(32, 64))
        self.dropout = nn.Dropout(0.25)
        self.classifier = nn.Linear(64 * 3 * 3, 10)

    def forward(self, x):
        x = (x - MEAN) / STD
        return self.classifier(self.dropout(self.features(x).flatten(1)))


def random_shift(images, max_shift, generator):
    """Move each image by its own random offset in [-max_shift, max_shift]² pixels (zeros come in).

    Runs on the images' device; the offsets come from a CPU generator (same shifts everywhere).
    """
    n, _, h, w = images.shape
    dev = images.device
    padded = F.pad(images, (max_shift,) * 4)
    dy = torch.randint(0, 2 * max_shift + 1, (n, 1, 1), generator=generator).to(dev)
    dx = torch.randint(0, 2 * max_shift + 1, (n, 1, 1), generator=generator).to(dev)
    rows = torch.arange(h, device=dev).view(1, h, 1) + dy
    cols = torch.arange(w, device=dev).view(1, 1, w) + dx
    return (
        padded.permute(0, 2, 3, 1)[torch.arange(n, device=dev).view(n, 1, 1), rows, cols]
        .permute(0, 3, 1, 2)
        .contiguous()
    )


# --- the classic PyTorch example -----------------------------------------------------------------


class ClassicNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = (x - MEAN) / STD  # the example's transforms.Normalize((0.1307,), (0.3081,))
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = self.dropout1(F.max_pool2d(x, 2)).flatten(1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


# --- the harness -----------------------------------------------------------------------------

RECIPES = {
    "project": dict(
        model=ProjectNet,
        batch_size=128,
        epochs=8,
        shift=2,
        channels_last=True,
        data_on_device=True,
        loss=F.cross_entropy,
        optimizer=lambda params: torch.optim.AdamW(params, lr=3e-3, weight_decay=1e-4),
        per_step=lambda opt, total: torch.optim.lr_scheduler.OneCycleLR(
            opt, 3e-3, total_steps=total
        ),
        per_epoch=None,
    ),
    "classic": dict(
        model=ClassicNet,
        batch_size=64,
        epochs=14,
        shift=0,
        channels_last=False,
        data_on_device=False,
        loss=F.nll_loss,
        optimizer=lambda params: torch.optim.Adadelta(params, lr=1.0),
        per_step=None,
        per_epoch=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7),
    ),
}


def accuracy(model, images, labels, device):
    model.eval()
    with torch.no_grad():
        correct = sum(
            (model(x.to(device)).argmax(1).cpu() == y).sum().item()
            for x, y in zip(images.split(2000), labels.split(2000))
        )
    return correct / len(labels)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_to_target(name, data, device, target, checks_per_epoch, seed, log):
    recipe = RECIPES[name]
    (x_train, y_train), (x_test, y_test) = data
    if recipe["data_on_device"]:
        x_train, y_train = x_train.to(device), y_train.to(device)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = recipe["model"]().to(device)
    if recipe["channels_last"]:
        model = model.to(memory_format=torch.channels_last)
    steps = math.ceil(len(x_train) / recipe["batch_size"])
    optimizer = recipe["optimizer"](model.parameters())
    per_step = (
        recipe["per_step"](optimizer, steps * recipe["epochs"]) if recipe["per_step"] else None
    )
    per_epoch = recipe["per_epoch"](optimizer) if recipe["per_epoch"] else None
    checkpoints = {round(steps * k / checks_per_epoch) for k in range(1, checks_per_epoch + 1)}
    trained, acc = 0.0, 0.0
    for epoch in range(recipe["epochs"]):
        model.train()
        sync(device)
        start = time.perf_counter()
        order = torch.randperm(len(x_train), generator=generator).to(x_train.device)
        for step in range(1, steps + 1):
            index = order[(step - 1) * recipe["batch_size"] : step * recipe["batch_size"]]
            xb = x_train[index]
            if recipe["shift"]:
                xb = random_shift(xb, recipe["shift"], generator)
            loss = recipe["loss"](model(xb.to(device)), y_train[index].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if per_step:
                per_step.step()
            if step in checkpoints:
                sync(device)
                trained += time.perf_counter() - start
                acc = accuracy(model, x_test, y_test, device)
                log(
                    f"  {name:8s} epoch {epoch + step / steps:5.2f}  train time {trained:7.1f} s  "
                    f"test accuracy {acc:.2%}"
                )
                if acc >= target:
                    return {"seconds": trained, "epochs": epoch + step / steps, "accuracy": acc}
                model.train()
                sync(device)
                start = time.perf_counter()
        if per_epoch:
            per_epoch.step()
    return {
        "seconds": float("inf"),
        "epochs": recipe["epochs"],
        "accuracy": acc,
        "trained": trained,
    }


def machine():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return cpu, load


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--checks-per-epoch", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--recipes", default="project,classic")
    args = parser.parse_args(argv)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cpu, load = machine()
    print(f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(
        f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'} "
        f"({device}); CPU: {cpu}; nproc {os.cpu_count()}; torch threads {torch.get_num_threads()}"
    )
    print(f"torch {torch.__version__}; load average at start (1, 5, 15 min): {load}")
    print(
        f"target: {args.target:.1%} test accuracy, checked {args.checks_per_epoch}x per epoch, "
        f"seeds 0..{args.seeds - 1}"
    )

    images, labels = load_mnist("train")
    data = ((images[:50_000], labels[:50_000]), load_mnist("test"))
    results = {}
    for name in args.recipes.split(","):
        results[name] = []
        for seed in range(args.seeds):
            print(f"{name}, seed {seed}:", flush=True)
            results[name].append(
                time_to_target(
                    name,
                    data,
                    device,
                    args.target,
                    args.checks_per_epoch,
                    seed,
                    lambda line: print(line, flush=True),
                )
            )
    print(f"load average at end (1, 5, 15 min): {machine()[1]}")
    medians = {}
    for name, runs in results.items():
        for seed, r in enumerate(runs):
            reached = (
                f"{r['seconds']:.1f} s ({r['epochs']:.2f} epochs, {r['accuracy']:.2%})"
                if math.isfinite(r["seconds"])
                else f"not reached in {r['epochs']} epochs "
                f"({r['trained']:.1f} s, last {r['accuracy']:.2%})"
            )
            print(f"time to {args.target:.0%}: {name:8s} seed {seed}: {reached}")
        medians[name] = statistics.median(r["seconds"] for r in runs)
        print(f"time to {args.target:.0%}: {name:8s} median {medians[name]:.1f} s")
    if {"project", "classic"} <= medians.keys():
        p, c = medians["project"], medians["classic"]
        if math.isfinite(p) and math.isfinite(c):
            print(
                f"speed-up of the project recipe (ratio of medians): {c / p:.1f}x (goal: at least 5x)"
            )
        else:
            print("speed-up: undefined (a recipe did not reach the target)")


if __name__ == "__main__":
    main()
