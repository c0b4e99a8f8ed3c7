"""`dlcourse similarity <assignment> <course_dir>`: pairs of submissions whose own code overlaps.

Only what students wrote is compared: the code of each solution cell of the release (the
exercises), with the release's own code (signatures, docstrings, stubs) given to
``copydetect`` as boilerplate. ``copydetect`` tokenizes (names, strings and layout do not
matter), fingerprints k-grams of tokens and winnows them, as MOSS does. The report lists the
most similar pairs with their overlaps highlighted, for a person to read: similar code has
innocent causes (a hint everyone followed, a short exercise with one natural answer), and the
report says so rather than "cheating".
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, compare_files

from dlcourse import pages
from dlcourse.pages import shown
from dlcourse.course import Course
from dlcourse.notebook import SubmissionError, nbgrader_meta, read, read_code_cells

NOISE = 25  # k-grams shorter than this many tokens are ignored (copydetect's default)
GUARANTEE = 30  # overlaps at least this long are always found (copydetect's default)
THRESHOLD = 0.5  # pairs above this similarity (either direction) are listed first
MAX_CODE = 200_000  # characters of a student's code compared and shown


@dataclass
class Pair:
    a: str
    b: str
    similarity: float  # the larger of the two directions: share of a's (or b's) code overlapping
    similarities: tuple[float, float]
    tokens: int
    slices: tuple


def solution_cells(course: Course, assignment: str) -> list[str]:
    nb = read(course.release_notebook(assignment))
    return [nbgrader_meta(c)["grade_id"] for c in nb.cells
            if c.cell_type == "code" and nbgrader_meta(c).get("solution")]


def release_code(course: Course, assignment: str) -> str:
    """The release's code: all its cells, and its solution cells joined as a student's are."""
    path = course.release_notebook(assignment)
    nb = read(path)
    every = "\n\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return every + "\n\n" + student_code(path, solution_cells(course, assignment))


def student_code(notebook: Path, cells: list[str]) -> str:
    """The student's solution cells, in release order (read as untrusted JSON)."""
    try:
        code = {c["id"]: c["source"] for c in read_code_cells(notebook)}
    except SubmissionError:
        return ""
    return "\n\n".join(code.get(cell, "") for cell in cells)[:MAX_CODE]


def _fingerprint(name: str, code: str, boilerplate) -> CodeFingerprint:
    return CodeFingerprint(f"{name}.py", NOISE, GUARANTEE - NOISE + 1, boilerplate=boilerplate,
                           fp=io.StringIO(code))


def compare(codes: dict[str, str], boilerplate_code: str = "") -> list[Pair]:
    """Every pair of students, most similar first."""
    # every k-gram of the release (window 1), not only the winnowed ones, counts as boilerplate
    boilerplate = (list(CodeFingerprint("release.py", NOISE, 1, fp=io.StringIO(boilerplate_code)).hashes)
                   if boilerplate_code else [])
    prints = {}
    for student, code in codes.items():
        try:
            prints[student] = _fingerprint(student, code, boilerplate)
        except Exception:  # code the tokenizer cannot read is simply not compared
            continue
    pairs = []
    for a, b in combinations(sorted(prints), 2):
        tokens, sims, slices = compare_files(prints[a], prints[b])
        sims = (float(sims[0]), float(sims[1]))
        pairs.append(Pair(a, b, max(sims), sims, int(tokens), slices))
    return sorted(pairs, key=lambda p: (-p.similarity, p.a, p.b))


def _segments(code: str, slices) -> list[dict]:
    """The code cut into plain and overlapping pieces, each made visible for the page."""
    out, pos = [], 0
    spans = np.asarray(slices)
    pieces = zip(spans[0].tolist(), spans[1].tolist()) if spans.ndim == 2 and spans.shape[1] else []
    for start, end in pieces:
        if start > pos:
            out.append({"text": shown(code[pos:start], MAX_CODE), "mark": False})
        out.append({"text": shown(code[max(start, pos):end], MAX_CODE), "mark": True})
        pos = max(pos, end)
    out.append({"text": shown(code[pos:], MAX_CODE), "mark": False})
    return out


def submissions(course: Course, assignment: str, course_dir: Path) -> dict[str, Path]:
    from dlcourse.grade import find_submissions

    return {job.student: job.notebook for job in find_submissions(course, assignment, course_dir)
            if job.notebook is not None}


def run(course: Course, assignment: str, course_dir: Path, out: Path, *, threshold: float = THRESHOLD,
        top: int = 20) -> tuple[Path, list[Pair]]:
    cells = solution_cells(course, assignment)
    codes = {s: student_code(nb, cells) for s, nb in submissions(course, assignment, course_dir).items()}
    pairs = compare(codes, release_code(course, assignment))
    shown = [p for p in pairs if p.similarity >= threshold] or pairs[:3]
    shown = shown[:top]
    page = pages.render(
        "similarity.html.j2", assignment=assignment, students=len(codes), threshold=f"{threshold:.0%}",
        compared=len(pairs), above=sum(p.similarity >= threshold for p in pairs),
        pairs=[{"a": shown(p.a, 130), "b": shown(p.b, 130), "similarity": f"{p.similarity:.0%}",
                "a_share": f"{p.similarities[0]:.0%}", "b_share": f"{p.similarities[1]:.0%}",
                "tokens": p.tokens, "above": p.similarity >= threshold,
                "a_code": _segments(codes[p.a], p.slices[0]), "b_code": _segments(codes[p.b], p.slices[1])}
               for p in shown])
    return pages.write(Path(out) / "similarity.html", page), pairs
