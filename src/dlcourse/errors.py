"""Exceptions of grading, importable without torch or pytest (the judge starts fast)."""


class GradeFailure(AssertionError):
    """A check failed; the message is written for the student."""


class ProbeError(RuntimeError):
    """Asking the student's code for an answer failed (it raised, timed out, sent garbage)."""


class GraderError(RuntimeError):
    """A bug on our side: a grader asked for a probe that does not exist or with the wrong
    arguments, or raised an exception that is not a verdict. Shown to the instructor."""
