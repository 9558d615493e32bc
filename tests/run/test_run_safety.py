"""Run-directory safety pieces: lock (live holder named, stale lock taken over), wall-clock checkpoint
trigger, one-line errors for corrupt files and for run directories that cannot be created.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gpuqd.atomic_io import atomic_savez, atomic_write_text
from gpuqd.run.execute.checkpoint_clock import CheckpointClock
from gpuqd.run.execute.lock import RunLock, RunLockedError, lock_path
from gpuqd.run.store.file_errors import REMEDY_FORCE, RunFileError, load_npz, make_dirs

REPO = Path(__file__).resolve().parents[2]
HOLD = (
    "import sys, time; sys.path.insert(0, sys.argv[2]); from gpuqd.run.execute.lock import RunLock; "
    "l = RunLock(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(60)"
)


def _holder(run_dir: Path) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir), str(REPO)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_lock_held_by_live_process_names_pid_and_host(tmp_path):
    run = tmp_path / "runs" / "a"
    p = _holder(run)
    try:
        with pytest.raises(RunLockedError) as e:
            RunLock(run).acquire()
        msg = str(e.value)
        assert f"PID {p.pid}" in msg and socket.gethostname() in msg and "\n" not in msg
        assert not run.exists()  # the lock lives next to the run directory
    finally:
        p.kill()
        p.wait()


def test_stale_lock_of_killed_process_is_taken_over(tmp_path):
    run = tmp_path / "runs" / "a"
    p = _holder(run)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert lock_path(run).exists()
    lock = RunLock(run).acquire()
    assert lock.previous["pid"] == p.pid
    lock.release()
    assert not lock_path(run).exists()


def test_lock_release_and_reacquire(tmp_path):
    run = tmp_path / "a"
    with RunLock(run):
        with pytest.raises(RunLockedError):
            RunLock(run).acquire()  # same process, another open file description: still exclusive
    with RunLock(run):
        pass


def test_checkpoint_clock_steps_and_wall_clock():
    now = [0.0]
    c = CheckpointClock(every_steps=1000, every_s=100.0, clock=lambda: now[0])
    assert c.advance_size(10_000) == 1000 and not c.due()
    now[0] += 10.0
    c.record(100)  # 10 steps/s measured → next advances ≈ every_s/4 = 25 s of work
    assert c.advance_size(10_000) == 250
    assert not c.due()
    now[0] += 95.0
    c.record(250)
    assert c.due()  # wall clock, long before 1000 steps
    c.saved()
    assert not c.due()
    c.record(1000, seconds=1e-3)
    assert c.due()  # step count


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04truncated", os.urandom(256)])
def test_corrupt_npz_is_one_line_with_remedy(tmp_path, content):
    p = tmp_path / "checkpoint.npz"
    p.write_bytes(content)
    with pytest.raises(RunFileError) as e:
        load_npz(p, "checkpoint", REMEDY_FORCE)
    msg = str(e.value)
    assert str(p) in msg and "--force" in msg and "\n" not in msg and "pickle" not in msg


def test_truncated_npz(tmp_path):
    p = tmp_path / "r.npz"
    atomic_savez(p, a=np.arange(1000.0))
    p.write_bytes(p.read_bytes()[:300])
    with pytest.raises(RunFileError, match="corrupt"):
        load_npz(p, "results file", REMEDY_FORCE)


@pytest.mark.parametrize("target", ["/sys/gpuqd_test/runs", "/proc/gpuqd_test/runs", "FILE/runs"])
def test_uncreatable_dirs_one_line(tmp_path, target):
    if target.startswith("FILE"):
        f = tmp_path / "afile"
        f.write_text("x")
        target = str(f) + target[4:]
    with pytest.raises(RunFileError) as e:
        make_dirs(target)
    msg = str(e.value)
    assert target in msg and "\n" not in msg and "[Errno" not in msg


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_parent(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(RunFileError, match="permission"):
            make_dirs(ro / "runs" / "x")
        assert not (ro / "runs").exists()
    finally:
        ro.chmod(0o755)


def test_atomic_files_respect_umask(tmp_path):
    old = os.umask(0o027)
    try:
        p = atomic_write_text(tmp_path / "x.txt", "x")
    finally:
        os.umask(old)
    assert (p.stat().st_mode & 0o777) == 0o640
    old = os.umask(0o022)
    try:
        p = atomic_savez(tmp_path / "y.npz", a=np.zeros(2))
    finally:
        os.umask(old)
    assert (p.stat().st_mode & 0o777) == 0o644
