"""``make run`` supervises its processes: a crashed child is restarted with back-off and the console
says so; a crash loop stops everything with a message; stopping leaves no process, a child's own
children included (process groups, not PIDs).

The supervisor is driven with small shell children first (seconds, no Django), then ``devrun``
itself once, for real: Redis, the development server, a Celery worker with its pool and beat, on
the test database; its worker and its web server are SIGKILLed, then it is stopped with SIGTERM.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from baohan.ops.supervisor import ChildSpec, Supervisor, group_members, group_stop, loopback_port
from tests.reliability.server import ROOT, database_url_for_tests


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _until(check: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(step)
    raise AssertionError(f"not within {timeout:g} s: {what}")


class Console:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, message: str) -> None:
        self.lines.append(message)

    def text(self) -> str:
        return "\n".join(self.lines)


def _supervisor(specs: list[ChildSpec], console: Console, **kwargs: float) -> Supervisor:
    options: dict[str, float] = {"backoff_first": 0.1, "backoff_max": 0.4, "grace": 3.0, **kwargs}
    return Supervisor(specs, say=console, warn=console, **options)  # type: ignore[arg-type]


def test_a_crashed_child_is_restarted_with_back_off_and_the_others_keep_running() -> None:
    console = Console()
    crasher = ChildSpec("worker", ["sh", "-c", "sleep 0.2; exit 3"])
    steady = ChildSpec("web", ["sleep", "60"])
    supervisor = _supervisor([steady, crasher], console, crash_limit=10)
    supervisor.start()
    web = supervisor.pid("web")
    try:
        _until(lambda: supervisor.poll() is None and console.text().count("restarted") >= 3, 15, "three restarts")
        assert supervisor.pid("web") == web  # untouched by the other's crashes
    finally:
        supervisor.stop()
    text = console.text()
    # Said on the console, with a back-off that doubles up to its ceiling.
    assert "worker exited with code 3; restarting it in 0.1 s (crash 1 of 10 allowed within 60 s)." in text
    assert "restarting it in 0.2 s (crash 2 of 10" in text
    assert "restarting it in 0.4 s (crash 3 of 10" in text
    assert re.search(r"worker: restarted \(pid \d+\)\.", text)
    assert web is not None
    assert not _alive(web)


def test_a_crash_loop_stops_everything_with_a_clear_message() -> None:
    console = Console()
    supervisor = _supervisor(
        [ChildSpec("web", ["sleep", "60"]), ChildSpec("redis", ["sh", "-c", "exit 1"])], console, backoff_max=0.1
    )
    supervisor.start()
    web = supervisor.pid("web")
    reasons: list[str] = []

    def looped() -> bool:
        reason = supervisor.poll()
        if reason:
            reasons.append(reason)
        return bool(reason)

    try:
        _until(looped, 20, "a crash loop")
    finally:
        supervisor.stop()
    assert reasons == [
        "redis exited with code 1: 5 crashes within 60 s, a crash loop. Stopping everything; its output above says why."
    ]
    assert console.text().count("restarting it in") == 4
    assert web is not None
    assert not _alive(web)


def test_a_killed_child_takes_its_own_children_with_it() -> None:
    """SIGKILL of a child (as of the Celery worker): what it started (its pool) does not outlive it."""
    console = Console()
    family = ChildSpec("worker", ["sh", "-c", "sleep 120 & sleep 120 & wait"])
    supervisor = _supervisor([family], console)
    supervisor.start()
    leader = supervisor.pid("worker")
    assert leader is not None
    try:
        _until(lambda: len(group_members(leader)) == 3, 10, "the shell and its two sleeps")
        pool = [pid for pid in group_members(leader) if pid != leader]
        os.kill(leader, signal.SIGKILL)
        _until(lambda: supervisor.poll() is None and not any(_alive(pid) for pid in pool), 10, "the orphans killed")
        _until(lambda: supervisor.poll() is None and supervisor.pid("worker") not in (None, leader), 10, "a restart")
        assert "worker was killed by SIGKILL; restarting it in 0.1 s" in console.text()
        restarted = supervisor.pid("worker")
        assert restarted is not None
        _until(lambda: len(group_members(restarted)) == 3, 10, "the new family")
        family_now = group_members(restarted)
    finally:
        supervisor.stop()
    assert not any(_alive(pid) for pid in family_now)


def test_stop_kills_a_group_that_ignores_sigterm() -> None:
    console = Console()
    # An ignored signal stays ignored in what the shell starts: the whole group shrugs off SIGTERM.
    stubborn = ChildSpec("beat", ["sh", "-c", "trap '' TERM; sleep 120 & sleep 120 & wait"])
    supervisor = _supervisor([stubborn], console, grace=1.0)
    supervisor.start()
    leader = supervisor.pid("beat")
    assert leader is not None
    _until(lambda: len(group_members(leader)) == 3, 10, "the shell and its two sleeps")
    members = group_members(leader)
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 10
    assert "beat did not stop within 1 s: killed." in console.text()
    assert not any(_alive(pid) for pid in members)


def test_group_stop_ends_a_whole_group_and_says_whether_it_had_to_kill() -> None:
    """What the tests' servers and the benchmarks stop their processes with."""
    polite = subprocess.Popen(["/bin/sh", "-c", "sleep 120 & sleep 120 & wait"], start_new_session=True)
    _until(lambda: len(group_members(polite.pid)) == 3, 10, "the shell and its two sleeps")
    members = group_members(polite.pid)
    assert group_stop(polite, grace=5.0, kill_wait=5.0) is True
    assert not any(_alive(pid) for pid in members)
    stubborn = subprocess.Popen(["/bin/sh", "-c", "trap '' TERM; sleep 120 & sleep 120 & wait"], start_new_session=True)
    _until(lambda: len(group_members(stubborn.pid)) == 3, 10, "the shell and its two sleeps")
    members = group_members(stubborn.pid)
    started = time.monotonic()
    assert group_stop(stubborn, grace=1.0, kill_wait=5.0) is False
    assert time.monotonic() - started < 8
    assert not any(_alive(pid) for pid in members)
    assert group_stop(stubborn) is True  # nothing left to stop


# --- devrun itself ----------------------------------------------------------------------------


class Devrun:
    def __init__(self, tmp_path: Path, *options: str, **extra_env: str) -> None:
        self.port = loopback_port()
        self.log = tmp_path / "devrun.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"CELERY_BROKER_URL", "REDIS_URL", "PYTEST_CURRENT_TEST"}
        }
        env.update(
            DJANGO_SETTINGS_MODULE="baohan.settings.base",
            DATABASE_URL=database_url_for_tests(),
            BAOHAN_DATA_DIR=str(tmp_path / "data"),
            CELERY_WORKER_CONCURRENCY="2",
            PYTHONUNBUFFERED="1",
            **extra_env,
        )
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "devrun", "--no-prepare", "--port", str(self.port), *options],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def pid_of(self, name: str) -> int:
        found = re.findall(rf"\b{name} \(pid (\d+)\)|{name}: restarted \(pid (\d+)\)", self.text())
        assert found, self.text()[-3000:]
        first, second = found[-1]
        return int(first or second)

    def web_answers(self) -> bool:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3)
        try:
            conn.request("GET", "/healthz", headers={"Host": "localhost"})
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def family(self) -> set[int]:
        try:
            return {p.pid for p in psutil.Process(self.process.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()

    def kill(self) -> None:
        family = self.family()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        for pid in family:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _worker_ready(devrun: Devrun) -> bool:
    return bool(re.search(r"celery@\S+ ready", devrun.text()))


@pytest.mark.usefixtures("committed_db")
def test_devrun_restarts_a_killed_worker_and_web_server_and_leaves_nothing_after_sigterm(tmp_path: Path) -> None:
    devrun = Devrun(tmp_path)
    try:
        _until(lambda: "Press Ctrl-C" in devrun.text() or devrun.process.poll() is not None, 60, "devrun up", 0.2)
        assert devrun.process.poll() is None, devrun.text()[-3000:]
        assert (
            "[devrun] Database: a pool of at most 4 connections (DATABASE_POOL_MAX_SIZE) in each of 5 processes"
            in devrun.text()
        )
        _until(lambda: devrun.web_answers() and _worker_ready(devrun), 60, "web and worker up", 0.2)

        # The worker with its pool, SIGKILLed: its pool's processes go with it, it comes back, nothing else moves.
        worker = devrun.pid_of("worker")
        pool = {p.pid for p in psutil.Process(worker).children(recursive=True)}
        assert len(pool) >= 2, devrun.text()[-2000:]
        others = {name: devrun.pid_of(name) for name in ("web", "beat", "redis")}
        os.kill(worker, signal.SIGKILL)
        _until(lambda: "worker: restarted" in devrun.text(), 20, "the worker restarted", 0.2)
        assert "[devrun] worker was killed by SIGKILL; restarting it in 1 s (crash 1 of 5" in devrun.text()
        _until(lambda: not any(_alive(pid) for pid in pool), 10, "the old pool gone", 0.2)
        assert {name: devrun.pid_of(name) for name in others} == others
        assert all(_alive(pid) for pid in others.values())
        assert devrun.web_answers()

        # The web server's autoreloader SIGKILLed: the server process it ran goes too, and both come back.
        web = others["web"]
        served_by = {p.pid for p in psutil.Process(web).children(recursive=True)}
        os.kill(web, signal.SIGKILL)
        _until(lambda: "web: restarted" in devrun.text(), 20, "the web server restarted", 0.2)
        _until(lambda: not any(_alive(pid) for pid in served_by), 10, "the old server process gone", 0.2)
        _until(devrun.web_answers, 40, "the web server answering again", 0.2)

        family = devrun.family()
        assert len(family) >= 6  # redis, web (2), worker (3), beat
        devrun.process.send_signal(signal.SIGTERM)
        assert devrun.process.wait(40) == 0, devrun.text()[-3000:]
        assert "Stopped." in devrun.text()
        # Nothing left: no child, no child's child.
        _until(lambda: not any(_alive(pid) for pid in family), 10, "every process gone", 0.2)
    finally:
        devrun.kill()
