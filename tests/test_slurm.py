"""A real single-node SLURM (Debian's `slurm-wlm`: munged, slurmctld and slurmd on loopback,
started here) running Dask workers as batch jobs through dask-jobqueue's `SLURMCluster`, and a
class graded through it with `dlcourse grade --scheduler`. Skipped where SLURM is absent."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ROOT, full_points, submit
from dlcourse import demo
from dlcourse.course import Course
from dlcourse.notebook import read

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
A = "01_logistic_regression"
DAEMONS = ("/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONF = """ClusterName=dlcourse
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
AuthType=auth/munge
AuthInfo=socket={dir}/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture(scope="module")
def slurm():
    """munged + slurmctld + slurmd for this module, in a temporary folder; yields SLURM_CONF."""
    if not all(Path(d).is_file() for d in DAEMONS) or not shutil.which("sbatch"):
        pytest.skip("SLURM is not installed (Debian: apt-get install slurm-wlm)")
    if os.geteuid() != 0:
        pytest.skip("slurmd needs root")
    folder = Path(tempfile.mkdtemp(prefix="dlcourse-slurm-"))
    (folder / "state").mkdir()
    (folder / "spool").mkdir()
    key = folder / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    host = socket.gethostname().split(".")[0]
    conf = folder / "slurm.conf"
    conf.write_text(
        CONF.format(
            host=host,
            ctld_port=free_port(),
            d_port=free_port(),
            dir=folder,
            cpus=os.cpu_count(),
            memory=8000,
        )
    )
    env = {**os.environ, "SLURM_CONF": str(conf)}
    subprocess.run(
        [
            "/usr/sbin/munged",
            "--force",
            f"--key-file={key}",
            f"--socket={folder}/munge.sock",
            f"--pid-file={folder}/munged.pid",
            f"--log-file={folder}/munged.log",
            f"--seed-file={folder}/munged.seed",
        ],
        check=True,
        env=env,
    )
    subprocess.run(["/usr/sbin/slurmctld", "-f", str(conf)], check=True, env=env)
    subprocess.run(["/usr/sbin/slurmd", "-f", str(conf)], check=True, env=env)
    saved = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(conf)  # sbatch, squeue, scancel of dask-jobqueue find it
    try:
        deadline = time.monotonic() + 60
        while (
            "idle"
            not in subprocess.run(
                ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=env
            ).stdout
        ):
            assert time.monotonic() < deadline, (folder / "slurmctld.log").read_text()[-3000:]
            time.sleep(0.5)
        yield folder
    finally:
        deadline = time.monotonic() + 30  # let cancelled jobs end before their slurmd does
        while (
            time.monotonic() < deadline
            and subprocess.run(
                ["squeue", "-h"], capture_output=True, text=True, env=env
            ).stdout.strip()
        ):
            time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            pid_file = folder / f"{name}.pid"
            if pid_file.is_file():
                try:
                    os.kill(int(pid_file.read_text().split()[0]), 15)
                except (ProcessLookupError, ValueError):
                    pass
        if saved is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = saved
        time.sleep(1)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_class_graded_on_slurm_workers(slurm, tmp_path):
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    course = Course(ROOT)
    folder = tmp_path / "class"
    submit(folder, "solution", A, read(course.solution_notebook(A)))
    submit(folder, "release", A, read(course.release_notebook(A)))
    submit(folder, "partial", A, demo.partial(course, A))
    prologue = [
        f"export DLCOURSE_ROOT={ROOT}",
        "export OMP_NUM_THREADS=1",
        f"export PYTHONPATH={ROOT / 'src'}",
    ]
    cluster = SLURMCluster(
        queue="debug",
        cores=1,
        processes=1,
        memory="3GB",
        walltime="00:30:00",
        python=sys.executable,
        job_script_prologue=prologue,
        log_directory=str(tmp_path / "jobs"),
        scheduler_options={"host": "127.0.0.1", "dashboard_address": None},
        worker_extra_args=["--host", "127.0.0.1"],
    )
    try:
        cluster.scale(jobs=2)
        with Client(cluster) as client:
            client.wait_for_workers(2, timeout=180)
        jobs = subprocess.run(
            ["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True
        ).stdout
        assert jobs.count("RUNNING") == 2, jobs
        out = tmp_path / "out"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "dlcourse",
                "--course",
                str(ROOT),
                "grade",
                A,
                str(folder),
                "--out",
                str(out),
                "--scheduler",
                cluster.scheduler_address,
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        cluster.close()
    records = {p.parent.name: json.loads(p.read_text()) for p in out.glob(f"results/*/{A}.json")}
    scores = {s: r["score"] for s, r in records.items()}
    assert set(scores) == {"solution", "release", "partial"}
    assert scores["solution"] == full_points(A) and scores["release"] == 0
    assert 0 < scores["partial"] < full_points(A)
    assert all(r["grader"]["worker"].startswith("SLURMCluster-") for r in records.values())
