"""The judge returns a record whatever a worker sends (issue #10).

A fake worker (a real process on the judge's pipes, standing where the sandboxed worker would)
answers the judge's messages with malformed ones: wrong types, wrong sizes, undecodable
frames, control characters, huge strings and numbers, early ends. The real judge, with the
real Module 1 graders, must write a result every time: every test failed with a message,
no crash, no internal error. The decoding bounds and the text helpers are checked directly.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, hidden_tests
from dlcourse import protocol
from dlcourse.text import bound, from_bytes, printable

A = "01_logistic_regression"

FAKE_WORKER = textwrap.dedent("""
    import os, random, struct, sys
    sys.path.insert(0, sys.argv[2])
    from dlcourse import protocol
    rng = random.Random(int(sys.argv[1]))
    inbox, outbox = sys.stdin.buffer, sys.stdout.buffer

    def junk():
        return rng.choice([
            {"event": "cell", "index": "one", "id": 5, "status": None, "error": [], "seconds": "slow"},
            {"event": "cell", "index": 10**6, "id": "x", "status": "ok", "error": "", "seconds": 1.0},
            {"event": "cell", "index": 0, "id": "\\x1b[2J" * 1000, "status": "ok", "error": "e", "seconds": -1},
            {"event": "cell", "index": 0, "id": "c", "status": "ok", "error": "", "seconds": float("nan")},
            {"done": True, "ok": True, "value": "A" * 5_000_000},
            {"done": True, "ok": True, "value": 10 ** 5000},
            {"done": True, "ok": True, "value": [[[[[[[[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]]]]]]]]},
            {"done": True, "ok": True, "value": list(range(2_000_000))},
            {"done": True, "ok": False, "error": "\\x1b[2J\\x07" + "E" * 3_000_000},
            {"done": True, "ok": False, "error": {"not": "text"}},
            {"done": True, "ok": True},
            {"done": "yes"},
            ["not", "a", "message"],
            {7: "int key"},
            {"done": True, "ok": True, "value": {10**30: 1}},
            None,
        ])

    def send(obj):
        protocol.write_frame(outbox, obj)

    for _ in range(200):
        try:
            protocol.read_frame(inbox)
        except EOFError:
            break
        kind = rng.random()
        if kind < 0.08:
            outbox.write(struct.pack("!Q", 1 << 40)); outbox.flush()
        elif kind < 0.16:
            payload = os.urandom(rng.randint(1, 4000))
            outbox.write(struct.pack("!Q", len(payload)) + payload); outbox.flush()
        elif kind < 0.20:
            break  # the worker ends
        elif kind < 0.30:
            send({"done": True, "device": "\\x1b]0;owned\\x07" * 100})
        else:
            for _ in range(rng.randint(1, 3)):
                send(junk())
""")

RUN_JUDGE = textwrap.dedent("""
    import subprocess, sys
    from dlcourse import sandbox
    def fake(isolation, scratch, data_dir, env, **limits):
        proc = subprocess.Popen([sys.executable, {fake!r}, {seed!r}, {src!r}], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        return proc, None
    sandbox.spawn_worker = fake
    from dlcourse.judge import main
    main({argv!r})
""")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_the_judge_records_whatever_a_worker_sends(tmp_path, seed):
    fake = tmp_path / "fake_worker.py"
    fake.write_text(FAKE_WORKER)
    out = tmp_path / "result.json"
    notebook = ROOT / "solutions" / A / f"{A}.ipynb"
    argv = [
        "--assignment",
        A,
        "--course",
        str(ROOT),
        "--notebook",
        str(notebook),
        "--out",
        str(out),
        "--isolation",
        "rlimits",
        "--limit=cell_seconds=5",
        "--limit=notebook_seconds=20",
        "--limit=probe_seconds=5",
        "--limit=submission_seconds=60",
    ]
    script = RUN_JUDGE.format(fake=str(fake), seed=str(seed), src=str(ROOT / "src"), argv=argv)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=900)
    assert out.is_file(), done.stderr.decode(errors="replace")[-3000:]
    result = json.loads(out.read_text())
    assert "internal_error" not in result, result.get("internal_error")
    assert not result["grader_errors"], result["grader_errors"]
    assert len(result["tests"]) == len(hidden_tests(A)) and not any(
        t["passed"] for t in result["tests"]
    )
    for test in result["tests"]:
        assert test["message"] and len(test["message"]) < 1100 and "\x1b" not in test["message"]
    assert len(json.dumps(result)) < 1 << 20


# --- the decoding bounds, directly -----------------------------------------------------


@pytest.mark.parametrize(
    "value,reason",
    [
        (10**30, "64 bits"),
        ("x" * 200_000, "string"),
        (list(range(1_100_000)), "values"),
        ({(1, 2): 3}, "keys"),
        ([[[[[[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]]]]]], "deeply"),
    ],
)
def test_answers_beyond_the_bounds_are_refused(value, reason):
    with pytest.raises(protocol.ProtocolError, match=reason):
        protocol.decode(protocol.encode(value))


def test_plain_answers_within_the_bounds_pass():
    value = {"x": torch.zeros(3), "n": -(2**62), "s": "ok", "items": [1, 2.5, None, True]}
    back = protocol.decode(protocol.encode(value))
    assert back["n"] == value["n"] and back["items"] == value["items"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_become_bounded_printable_text(data):
    text = from_bytes(data, 500)
    assert len(text) <= 501 * 4
    assert not any(ord(c) < 32 and c not in "\n\t" for c in text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000))
def test_printable_one_line_text_has_no_controls(text):
    shown = printable(bound(text, 1000), newlines=False)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert "\u202e" not in shown
