"""Named adversarial submissions, graded together in one real `dlcourse grade` class run.

Every case must end the same way: the affected tests score 0 (or the attempt has no effect),
the grader completes, the honest students graded in the same run get full marks, and the
gradebook is intact. The table in docs/security.md is generated from these results
(`DLCOURSE_WRITE_DOCS=1 pytest tests/test_adversarial.py` rewrites it).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import threading
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, cell_points, full_points, grade_cells, grade_json, submit, with_solutions
from dlcourse import sandbox
from dlcourse.notebook import nbgrader_meta, read

pytestmark = pytest.mark.slow  # every test here inspects one class run of attacks

A = "01_logistic_regression"
FULL = int(full_points(A)) if full_points(A).is_integer() else full_points(A)
FAST = [
    "--workers",
    "2",
    "--limit",
    "cell_seconds=12",
    "--limit",
    "notebook_seconds=60",
    "--limit",
    "probe_seconds=10",
    "--isolation",
    "bwrap",
]
SECRET_SLEEP = "987654"  # a background `sleep` argument nobody else uses

if not sandbox.bwrap_works():
    if os.environ.get("CI"):
        raise RuntimeError("bubblewrap must work in CI: the adversarial tests need the sandbox")
    pytest.skip("bubblewrap is not available here", allow_module_level=True)


def _source():
    return read(ROOT / "source" / A / f"{A}.ipynb")


def _release():
    return read(ROOT / "release" / A / f"{A}.ipynb")


def solved(extra_cells=(), at=1, replace=None):
    """The release with every solution filled in, plus extra student cells."""
    nb = with_solutions(_release(), _source(), replace)
    for offset, code in enumerate(extra_cells):
        nb.cells.insert(at + offset, nbformat.v4.new_code_cell(code))
    return nb


def report_from_probe(body: str) -> dict:
    """Replace `mse_loss` so that, when a grader's probe calls it, it runs `body` and reports
    the value of `report` as its error message (the notebook's own calls get a normal MSE)."""
    return {
        "loss_surface": _SURFACE + "\ndef mse_loss(yhat, y):\n    if not _probed():\n"
        "        return ((yhat - y) ** 2).mean()\n    report = None\n"
        + "".join(f"    {line}\n" for line in body.splitlines())
        + "    raise RuntimeError(f'REPORT {report}')\n"
    }


_SURFACE = """
import inspect

def _probed():
    return any(frame.filename == "<probes>" for frame in inspect.stack())

def loss_surface(loss_fn, weights, biases, x, y):
    return torch.stack([torch.stack([loss_fn(torch.sigmoid(w * x + b), y) for b in biases]) for w in weights])
"""

TAMPER = """
import builtins, torch
torch.allclose = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
builtins.isinstance = lambda *a: True
print('All tests passed!')
print('{"assignment": "01_logistic_regression", "score": 16, "max_score": 16, "tests": []}')
"""

CASES = {}


def case(name, behaviour, stops, expect):
    CASES[name] = {"behaviour": behaviour, "stops": stops, "expect": expect}
    return name


@pytest.fixture(scope="module")
def listener():
    """A TCP server on the host's loopback that records any connection it gets."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    hits, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                hits.append(1)
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    stop.set()
    server.close()


@pytest.fixture(scope="module")
def attack(tmp_path_factory, listener):
    port, hits = listener
    folder = tmp_path_factory.mktemp("attack")
    out = folder / "grading"
    protected = [
        ROOT / "source" / A / f"{A}.ipynb",
        ROOT / "autograder" / A / "test_logistic_regression.py",
    ]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in protected}
    marker = folder / "pwned"
    graders = ROOT / "autograder" / A / "test_logistic_regression.py"

    submit(folder, "honest_first", A, solved())
    # 1, 2, 4: fake comparisons (in a cell and inside probed functions), fake objects, fake output
    submit(
        folder,
        case(
            "monkeypatch",
            "monkeypatch torch.allclose, assert_close, Tensor.__eq__, builtins "
            "(in a cell and in a probed function); print fake results",
            "expected values are computed and compared in the judge, never in the worker",
            "faked tests score 0",
        ),
        A,
        solved(
            [TAMPER],
            replace={
                "binary_cross_entropy": "def binary_cross_entropy(yhat, y):\n    import torch\n"
                "    torch.allclose = lambda *a, **k: True\n    return torch.tensor(0.0)"
            },
        ),
    )
    submit(
        folder,
        case(
            "fake_objects",
            "return a tensor subclass whose == is always true, or an object "
            "whose __eq__ is always true",
            "the worker sends plain data; the judge decodes with weights_only=True and accepts "
            "only plain tensors and values",
            "those tests score 0",
        ),
        A,
        solved(
            replace={
                "logistic_regression": "class Yes(torch.Tensor):\n    def __eq__(self, other):\n        return True\n"
                "class LogisticRegression(torch.nn.Module):\n    def __init__(self, d):\n"
                "        super().__init__()\n        self.linear = torch.nn.Linear(d, 1)\n"
                "    def forward(self, x):\n        return torch.zeros(len(x), 1).as_subclass(Yes)",
                "binary_cross_entropy": "class Anything:\n    def __eq__(self, other):\n        return True\n"
                "    __le__ = __ge__ = __lt__ = __gt__ = __eq__\n"
                "def binary_cross_entropy(yhat, y):\n    return Anything()",
            }
        ),
    )
    # 3: exits
    submit(
        folder,
        case(
            "exit",
            "sys.exit(0) and os._exit(0) in a cell and inside a probed function",
            "the worker catches SystemExit; a dead worker is restarted without the cell",
            "only the probed function's tests score 0",
        ),
        A,
        solved(
            ["import sys\nsys.exit(0)", "import os\nos._exit(0)"],
            replace=report_from_probe("import os\nos._exit(0)"),
        ),
    )
    # 5, 14: reading hidden files and the test split
    reads = [
        graders,
        ROOT / "source" / A / f"{A}.ipynb",
        ROOT / "solutions" / A / f"{A}.ipynb",
        ROOT / "gradebook.db",
        Path.home() / ".cache" / "dlcourse" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte",
    ]
    submit(
        folder,
        case(
            "read_files",
            "read the hidden graders, the source notebook, the solutions, the "
            "cached test labels from disk",
            "bubblewrap shows the worker only the system, the package and the train/val files",
            "nothing to read; no effect",
        ),
        A,
        solved(
            replace=report_from_probe(
                f"found = []\nfor p in {[str(p) for p in reads]!r}:\n"
                "    try:\n        open(p, 'rb').read(10)\n        found.append(p)\n    except OSError:\n        pass\n"
                "report = 'FOUND ' + repr(found) if found else 'NOTHING'"
            )
        ),
    )
    submit(
        folder,
        case(
            "test_labels",
            "load the test split's labels in the notebook",
            "load_mnist refuses while grading; the test files are not in the sandbox",
            "a clear error; no effect",
        ),
        A,
        solved(
            replace=report_from_probe(
                "from dlcourse.data import load_mnist\ntry:\n    load_mnist('test')\n    report = 'LOADED'\n"
                "except Exception as exc:\n    report = type(exc).__name__ + ': ' + str(exc)[:60]"
            )
        ),
    )
    # 6: writing the gradebook, results, another student's folder; a ../ name; a link
    other = folder / "submitted" / "honest_first" / A / f"{A}.ipynb"
    targets = [
        out / "gradebook.db",
        out / "results" / "honest_first" / f"{A}.json",
        other,
        ROOT / "gradebook.db",
    ]
    submit(
        folder,
        case(
            "write_files",
            "write gradebook.db, a results file, another student's notebook",
            "those paths do not exist in the sandbox; everything outside /scratch is read-only",
            "nothing written; no effect",
        ),
        A,
        solved(
            [
                "for p in %r:\n    try:\n        import os; os.makedirs(os.path.dirname(p), exist_ok=True)\n"
                "        open(p, 'w').write('owned')\n    except OSError:\n        pass"
                % [str(t) for t in targets]
            ]
        ),
    )
    (folder / "submitted" / "..sneaky").mkdir(parents=True)
    submit(folder, "link", A, solved())
    linked = folder / "submitted" / "link" / A / f"{A}.ipynb"
    linked.unlink()
    linked.symlink_to(ROOT / "source" / A / f"{A}.ipynb")
    case(
        "link",
        "submit a link to the instructor's notebook, or a folder named with ../",
        "submissions must be plain files in valid student folders",
        "score 0 with a message; folder skipped",
    )
    # 7: time
    submit(
        folder,
        case(
            "infinite_loop",
            "an infinite loop; time.sleep past the limit; ignoring the CPU-time signal",
            "a per-cell CPU-time limit in the worker; past it (or the "
            "wall-clock backstop, for sleep) the judge, which measures the worker's CPU "
            "time itself, kills the worker and reruns the notebook without that cell",
            "the cell is cut; the rest is graded",
        ),
        A,
        solved(["while True:\n    pass", "import time\ntime.sleep(3600)"]),
    )
    submit(
        folder,
        "stubborn_loop",
        A,
        solved(
            [
                "import signal\nfor s in (signal.SIGPROF, signal.SIGALRM):\n"
                "    signal.signal(s, signal.SIG_IGN)\n"
                "while True:\n    pass"
            ],
            at=len(_release().cells),
        ),
    )
    # 8, 9: memory, processes, threads
    submit(
        folder,
        case(
            "memory",
            "allocate 30 GB",
            "a memory cgroup (rlimits where there is none)",
            "the cell fails or is skipped; the rest is graded",
        ),
        A,
        solved(["import torch\nx = torch.ones(30 * 2**30, dtype=torch.uint8)"]),
    )
    submit(
        folder,
        case(
            "fork_bomb",
            "a fork bomb and a thread bomb",
            "a pids cgroup; forked children lose the judge's pipes",
            "the cells fail; the rest is graded",
        ),
        A,
        solved(
            [
                "import os\nwhile True:\n    os.fork()",
                "import threading, time\nwhile True:\n"
                "    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()",
            ],
            at=len(_release().cells),
        ),
    )
    # 10: network
    submit(
        folder,
        case(
            "network",
            "open a connection to the host's loopback and look for a route out",
            "a fresh network namespace: no interfaces but a down loopback, no routes",
            "no connection; no effect",
        ),
        A,
        solved(
            replace=report_from_probe(
                f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
                "    report = 'CONNECTED'\nexcept OSError as exc:\n    report = 'REFUSED'\n"
                "routes = open('/proc/net/route').read().splitlines()[1:]\nreport += ' routes=%d' % len(routes)"
            )
        ),
    )
    # 11: outliving the run
    submit(
        folder,
        case(
            "background",
            "start a background process (setsid, double fork) that outlives the run",
            "bwrap --die-with-parent and the pid namespace kill all of the worker's processes",
            "nothing survives grading",
        ),
        A,
        solved(
            [
                f"import subprocess\nsubprocess.Popen(['setsid', 'sleep', '{SECRET_SLEEP}'])",
                f"import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                f"        os.execvp('sleep', ['sleep', '{SECRET_SLEEP}'])\n    os._exit(0)\ntime.sleep(0.5)",
            ]
        ),
    )
    # 12: files next to the notebook
    case(
        "shipped_files",
        "ship conftest.py, sitecustomize.py, a .pth file and torch.py next to the notebook",
        "the worker gets only the code cells; the judge collects only autograder/",
        "no effect",
    )
    submit(folder, "shipped_files", A, solved())
    ship = folder / "submitted" / "shipped_files" / A
    evil = f"open({str(marker)!r}, 'w').write('pwned')\n"
    for name in ("conftest.py", "sitecustomize.py", "torch.py"):
        (ship / name).write_text(evil)
    (ship / "evil.pth").write_text(f"import os; {evil}")
    # 13: tampering with locked and grade cells
    tampered = solved()
    grade_cells = [c for c in tampered.cells if nbgrader_meta(c).get("grade")]
    grade_cells[0].source = "pass"
    grade_cells[1].metadata["nbgrader"]["points"] = 1000
    tampered.cells.remove(grade_cells[2])
    duplicate = nbformat.from_dict(json.loads(json.dumps(grade_cells[3])))
    duplicate.id = "duplicate-grade-cell"
    tampered.cells.append(duplicate)
    grade_cells[4].cell_type = "markdown"
    grade_cells[4].pop("outputs", None)
    grade_cells[4].pop("execution_count", None)
    submit(
        folder,
        case(
            "locked_cells",
            "edit, delete, duplicate or retype a locked or grade cell; change its points",
            "hidden graders and the course gradebook decide; the "
            "submission's metadata is never trusted",
            "no effect: the score stays what the solutions earn",
        ),
        A,
        tampered,
    )
    submit(folder, "tampered_stubs", A, _release())
    submit(folder, "honest_last", A, solved())

    results = {r["student"]: r for r in grade_json(A, folder, out, *FAST)}
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in protected}
    return {
        "results": results,
        "out": out,
        "marker": marker,
        "hits": hits,
        "intact": before == after,
        "folder": folder,
    }


def _report(result):
    return next(t["message"] for t in result["tests"] if t["name"] == "test_mse_loss")


def _score(attack, student):
    return attack["results"][student]["score"]


def test_honest_students_in_the_same_run_get_full_marks(attack):
    assert _score(attack, "honest_first") == _score(attack, "honest_last") == FULL


def test_monkeypatch(attack):
    failed = {t["name"] for t in attack["results"]["monkeypatch"]["tests"] if not t["passed"]}
    assert {"test_bce_matches_bceloss", "test_bce_finite_at_exact_zero_and_one"} <= failed
    assert _score(attack, "monkeypatch") == FULL - cell_points(A, "test_binary_cross_entropy")
    CASES["monkeypatch"]["seen"] = f"{_score(attack, 'monkeypatch'):g}/{FULL}"


def test_fake_objects(attack):
    result = attack["results"]["fake_objects"]
    failed = {t["name"] for t in result["tests"] if not t["passed"]}
    assert {
        "test_is_linear_then_sigmoid",
        "test_bce_matches_bceloss",
        "test_bce_finite_at_exact_zero_and_one",
    } <= failed
    assert _score(attack, "fake_objects") <= FULL - 4  # at least those three tests' points
    CASES["fake_objects"]["seen"] = f"{_score(attack, 'fake_objects'):g}/{FULL}"


def test_exit(attack):
    result = attack["results"]["exit"]
    failed = {t["name"] for t in result["tests"] if not t["passed"]}
    assert failed == {"test_mse_loss"}
    CASES["exit"]["seen"] = f"{result['score']:g}/{FULL}"


def test_read_files(attack):
    report = _report(attack["results"]["read_files"])
    assert "REPORT NOTHING" in report, report
    CASES["read_files"]["seen"] = "nothing readable"


def test_test_labels(attack):
    report = _report(attack["results"]["test_labels"])
    assert "TestSplitHidden" in report and "LOADED" not in report
    CASES["test_labels"]["seen"] = "TestSplitHidden"


def test_write_files(attack):
    assert attack["intact"]
    assert not (ROOT / "gradebook.db").read_bytes().startswith(b"owned")
    assert _score(attack, "write_files") == FULL and _score(attack, "honest_first") == FULL
    other = attack["folder"] / "submitted" / "honest_first" / A / f"{A}.ipynb"
    assert "owned" not in other.read_text()
    CASES["write_files"]["seen"] = "files unchanged"


def test_link_and_dot_names(attack):
    result = attack["results"]["link"]
    assert result["score"] == 0 and "is a link" in result["tests"][0]["message"]
    assert "..sneaky" not in attack["results"]
    assert not (attack["out"].parent / "sneaky").exists()
    CASES["link"]["seen"] = "0, link refused"


def test_infinite_loop(attack):
    assert _score(attack, "infinite_loop") == FULL
    assert (
        _score(attack, "stubborn_loop") == FULL
    )  # killed at the notebook's limit, rerun without it
    CASES["infinite_loop"]["seen"] = f"{FULL}/{FULL} (signal ignored: {FULL}/{FULL} after a rerun)"


def test_memory(attack):
    assert _score(attack, "memory") == FULL
    CASES["memory"]["seen"] = f"{FULL}/{FULL}"


def test_fork_bomb(attack):
    assert _score(attack, "fork_bomb") == FULL
    CASES["fork_bomb"]["seen"] = f"{FULL}/{FULL}"


def test_network(attack, listener):
    report = _report(attack["results"]["network"])
    assert "REFUSED routes=0" in report, report
    assert listener[1] == []
    CASES["network"]["seen"] = "refused, no routes"


def _processes_with(argument: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and argument.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def test_background(attack):
    assert _score(attack, "background") == FULL
    assert _processes_with(SECRET_SLEEP) == []
    CASES["background"]["seen"] = "none left"


def test_shipped_files(attack):
    assert _score(attack, "shipped_files") == FULL
    assert not attack["marker"].exists()
    CASES["shipped_files"]["seen"] = "never loaded"


def test_locked_cells(attack):
    assert _score(attack, "locked_cells") == FULL
    assert attack["results"]["locked_cells"]["max_score"] == FULL
    assert _score(attack, "tampered_stubs") == 0
    CASES["locked_cells"]["seen"] = f"{FULL}/{FULL}"


def test_gradebook_is_intact(attack):
    with sqlite3.connect(attack["out"] / "gradebook.db") as conn:
        rows = conn.execute(
            "SELECT s.student_id, COUNT(g.id), SUM(g.auto_score IS NULL) FROM submitted_assignment s "
            "JOIN submitted_notebook n ON n.assignment_id = s.id "
            "JOIN grade g ON g.notebook_id = n.id GROUP BY s.student_id"
        ).fetchall()
    assert {r[0] for r in rows} == set(attack["results"])
    assert all(count == grade_cells(A) and missing == 0 for _, count, missing in rows)


def render_table() -> str:
    lines = ["| behaviour | what stops it | outcome | seen in the last run |", "|---|---|---|---|"]
    for c in CASES.values():
        lines.append(
            f"| {c['behaviour']} | {c['stops']} | {c['expect']} | {c.get('seen', 'not run')} |"
        )
    return "\n".join(lines) + "\n"


def test_security_table_is_current(attack):
    """docs/security.md carries the table generated from the results above (run this test last)."""
    table = render_table()
    assert "not run" not in table
    doc = ROOT / "docs" / "security.md"
    text = doc.read_text() if doc.exists() else ""
    begin, end = "<!-- table:begin -->\n", "<!-- table:end -->"
    if os.environ.get("DLCOURSE_WRITE_DOCS"):
        head, _, rest = text.partition(begin)
        doc.write_text(head + begin + table + end + rest.partition(end)[2])
        text = doc.read_text()
    assert begin + table + end in text, (
        "regenerate with DLCOURSE_WRITE_DOCS=1 pytest tests/test_adversarial.py"
    )
