"""Similarity: a renamed, reformatted copy is found; independent work is not; nothing says
"cheating"; student-controlled text in the report is inert."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, dlcourse, submit, with_solutions
from dlcourse import similarity
from dlcourse.notebook import read

A = "01_logistic_regression"
RENAMES = {
    "log_p": "logprob",
    "log_not_p": "logprob_neg",
    "surface": "grid_values",
    "history": "losses",
    "layer": "lin",
    "params": "tensors",
    "epochs": "n_rounds",
    "in_features": "n_in",
}

CAROL = {
    "logistic_regression": """class LogisticRegression(nn.Module):
    def __init__(self, in_features):
        super().__init__()
        self.w = nn.Parameter(torch.randn(in_features, 1) * 0.01)
        self.b = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return 1 / (1 + torch.exp(-(x @ self.w + self.b)))
""",
    "binary_cross_entropy": """def binary_cross_entropy(yhat, y):
    eps = 1e-7
    q = yhat.clamp(eps, 1 - eps)
    return torch.mean(-y * torch.log(q) - (1 - y) * torch.log(1 - q))
""",
    "loss_surface": """def mse_loss(yhat, y):
    return torch.mean(torch.square(yhat - y))


def loss_surface(loss_fn, weights, biases, x, y):
    rows = []
    for w in weights:
        rows.append(torch.stack([loss_fn(torch.sigmoid(w * x + b), y) for b in biases]))
    return torch.stack(rows)
""",
    "training": """def gd_step(params, lr):
    for p in params:
        p.data.sub_(lr * p.grad.data)


def train(model, loss_fn, x, y, lr, epochs):
    out = []
    while len(out) < epochs:
        for p in model.parameters():
            p.grad = None
        l = loss_fn(model(x), y)
        out.append(float(l))
        l.backward()
        gd_step(list(model.parameters()), lr)
    return out
""",
}
DAVE = {
    "logistic_regression": """class LogisticRegression(nn.Module):
    def __init__(self, in_features):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, 1), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)
""",
    "binary_cross_entropy": """import torch.nn.functional as F


def binary_cross_entropy(yhat, y):
    return F.binary_cross_entropy(yhat, y)
""",
    "gradient": """def gradient(loss_fn, w, b, x, y):
    params = torch.tensor([float(w), float(b)], requires_grad=True)
    value = loss_fn(torch.sigmoid(params[0] * x + params[1]), y)
    dw, db = torch.autograd.grad(value, params)[0]
    return dw.item(), db.item()
""",
    "training": """def gd_step(params, lr):
    with torch.no_grad():
        [p.add_(p.grad, alpha=-lr) for p in params]


def train(model, loss_fn, x, y, lr, epochs):
    record = [None] * epochs
    for k in range(epochs):
        model.zero_grad(set_to_none=True)
        current = loss_fn(model(x), y)
        current.backward()
        record[k] = current.detach().item()
        gd_step(model.parameters(), lr)
    return record
""",
}


def disguise(source: str) -> str:
    """A renamed, reformatted copy: other names, comments, blank lines, other spacing."""
    for old, new in RENAMES.items():
        source = re.sub(rf"\b{old}\b", new, source)
    lines = []
    for line in source.splitlines():
        lines.append(
            line.replace(" = ", "  =  ")
            .replace(", ", " , ")
            .replace("### BEGIN SOLUTION", "# my code")
        )
        if line.strip().startswith(("return", "for ")):
            lines.append("")
            lines.append("    # keep going")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    folder = tmp_path_factory.mktemp("similarity")
    release, source = (
        read(ROOT / "release" / A / f"{A}.ipynb"),
        read(ROOT / "source" / A / f"{A}.ipynb"),
    )
    alice = with_solutions(read(ROOT / "release" / A / f"{A}.ipynb"), source)
    submit(folder, "alice", A, alice)
    solved = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in alice.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    submit(
        folder,
        "bob",
        A,
        with_solutions(
            read(ROOT / "release" / A / f"{A}.ipynb"),
            source,
            {k: disguise(v) for k, v in solved.items()},
        ),
    )
    for name, cells in (("carol", CAROL), ("dave", DAVE)):
        submit(
            folder,
            name,
            A,
            with_solutions(read(ROOT / "release" / A / f"{A}.ipynb"), release, cells),
        )
    submit(folder, "erin", A, release)  # untouched release: nothing of her own
    return folder


def test_copy_is_found_and_independent_work_is_not(classroom, course, tmp_path):
    path, pairs = similarity.run(course, A, classroom, tmp_path)
    by_pair = {(p.a, p.b): p.similarity for p in pairs}
    assert pairs[0].a == "alice" and pairs[0].b == "bob"
    assert by_pair[("alice", "bob")] >= similarity.THRESHOLD
    others = {k: v for k, v in by_pair.items() if k != ("alice", "bob")}
    assert len(others) == 9 and max(others.values()) < similarity.THRESHOLD, others
    assert all(v == 0 for k, v in others.items() if "erin" in k)  # the release is boilerplate
    html = path.read_text()
    assert "<mark>" in html and "cheat" not in html.lower() and "plagiar" not in html.lower()


@pytest.mark.slow
def test_similarity_command_and_inert_student_text(classroom, tmp_path):
    nb = read(classroom / "submitted" / "dave" / A / f"{A}.ipynb")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "gradient":
            cell.source += "\n# </pre><script>document.title='pwned'</script>\x1b[2J\n"
    submit(classroom, "dave", A, nb)
    out = tmp_path / "report"
    dlcourse("similarity", A, str(classroom), "--out", str(out), "--threshold", "0.0")
    html = (out / "similarity.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html and "\x1b" not in html
