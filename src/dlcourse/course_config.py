"""The course's own settings file, ``course.toml`` at the course root (optional)::

    [grading]
    scheduler = "tls://10.0.0.5:8786"           # a Dask scheduler; absent: grade on this machine
    db = "postgresql+psycopg://grader@db/course" # any SQLAlchemy URL nbgrader accepts
    tls_ca_file = "/etc/dlcourse/ca.pem"         # TLS to the scheduler (all three, or none)
    tls_client_cert = "/etc/dlcourse/client.pem"
    tls_client_key = "/etc/dlcourse/client-key.pem"

A command-line option wins over the environment (``DLCOURSE_SCHEDULER``, ``DLCOURSE_DB``),
which wins over this file; so one checkout serves a laptop and the cluster unchanged.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

KEYS = {"scheduler", "db", "tls_ca_file", "tls_client_cert", "tls_client_key", "in_flight"}
ENV = {"scheduler": "DLCOURSE_SCHEDULER", "db": "DLCOURSE_DB"}


def read(course_root: Path) -> dict:
    """The ``[grading]`` table of ``course.toml`` (empty when the file is absent)."""
    path = Path(course_root) / "course.toml"
    if not path.is_file():
        return {}
    with open(path, "rb") as f:
        table = tomllib.load(f).get("grading", {})
    unknown = set(table) - KEYS
    if unknown:
        raise ValueError(f"{path}: unknown [grading] keys {sorted(unknown)}; known: {sorted(KEYS)}")
    return table


def setting(course_root: Path, key: str, given: str | None = None) -> str | None:
    """One setting: the command line's value, else the environment's, else ``course.toml``'s."""
    if given:
        return given
    if key in ENV and os.environ.get(ENV[key]):
        return os.environ[ENV[key]]
    return read(course_root).get(key)
