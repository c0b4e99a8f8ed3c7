"""Exceptions of grading, importable without torch or pytest (the judge starts fast)."""


class GradeFailure(AssertionError):
    """A check failed; the message is written for the student."""


class ProbeError(RuntimeError):
    """Asking the student's code for an answer failed (it raised, timed out, sent garbage)."""
