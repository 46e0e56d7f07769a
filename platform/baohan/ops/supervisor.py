"""A small process supervisor for ``make run`` (``devrun``): children restarted with back-off.

Every child is started in a process group of its own (``start_new_session``), and signals go to
the group, never to a PID alone: what a child started (the autoreloader's server, Celery's pool
or embedded beat) is stopped with it, and a terminal's Ctrl-C reaches only the supervisor, which
then stops the children in reverse order of start (the web server first, Redis last).

A child that exits while the supervisor runs is restarted after a back-off (1 s, doubled at each
crash up to 30 s, back to 1 s once it has run for a minute), and the console says so. A child
that crashes ``crash_limit`` times within ``crash_window`` seconds is a crash loop: ``poll``
returns the reason and the caller stops everything.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CRASH_LIMIT = 5
CRASH_WINDOW = 60.0
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0
GRACE = 15.0


@dataclass
class ChildSpec:
    """How to start one child: a name for the console, its command, environment and folder."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: str | Path | None = None


@dataclass
class _Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    backoff: float = BACKOFF_FIRST
    crashes: deque[float] = field(default_factory=deque)


def exit_description(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def group_signal(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the process group ``pgid``; False when the group is gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of the group ``pgid``."""
    import psutil

    members = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(process.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def group_alive(pgid: int) -> bool:
    return group_signal(pgid, 0) and bool(group_members(pgid))


def group_stop(process: subprocess.Popen[bytes], *, grace: float = 30.0, kill_wait: float = 10.0) -> bool:
    """Stop ``process`` and everything in its process group: SIGTERM, then SIGKILL to a group still
    there after ``grace`` seconds. True when it stopped without the SIGKILL."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, kill_wait)):
        if not group_signal(process.pid, sig):
            return sig == signal.SIGTERM
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)
        # The group may outlive its leader for a moment (gunicorn's workers, Celery's pool).
        deadline = time.monotonic() + wait
        while process.poll() is not None and group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if process.poll() is not None and not group_alive(process.pid):
            return sig == signal.SIGTERM
    return False


def loopback_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server a test or benchmark starts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_ready(
    port: int,
    *,
    path: str,
    host: str,
    seconds: float,
    ready: Callable[[int], bool] = lambda status: status == 200,
    process: subprocess.Popen[bytes] | None = None,
) -> bool:
    """Ask ``path`` on 127.0.0.1:``port`` until an answer is ``ready``: True then; False after
    ``seconds``, or at once when ``process`` (the server) has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", path, headers={"Host": host})
            response = connection.getresponse()
            response.read()
            if ready(response.status):
                return True
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.25)
    return False


class Supervisor:
    """Starts, watches, restarts and stops a list of children (see the module's docstring)."""

    def __init__(
        self,
        specs: Sequence[ChildSpec],
        *,
        say: Callable[[str], None],
        warn: Callable[[str], None] | None = None,
        crash_limit: int = CRASH_LIMIT,
        crash_window: float = CRASH_WINDOW,
        backoff_first: float = BACKOFF_FIRST,
        backoff_max: float = BACKOFF_MAX,
        stable_after: float = STABLE_AFTER,
        grace: float = GRACE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._children = [_Child(spec, backoff=backoff_first) for spec in specs]
        self._say = say
        self._warn = warn or say
        self.crash_limit = crash_limit
        self.crash_window = crash_window
        self.backoff_first = backoff_first
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.grace = grace
        self._clock = clock

    # -- reading ---------------------------------------------------------------------------------

    def pid(self, name: str) -> int | None:
        """The running PID of the child ``name`` (None while it waits for a restart)."""
        for child in self._children:
            if child.spec.name == name and child.process is not None and child.process.poll() is None:
                return child.process.pid
        return None

    @property
    def names(self) -> list[str]:
        return [child.spec.name for child in self._children]

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> None:
        for child in self._children:
            self._start(child)

    def _start(self, child: _Child) -> None:
        child.process = subprocess.Popen(
            list(child.spec.argv),
            env=dict(child.spec.env) if child.spec.env is not None else None,
            cwd=child.spec.cwd,
            start_new_session=True,
        )
        child.started_at = self._clock()
        child.restart_at = None

    def poll(self) -> str | None:
        """Look at every child once: note exits, restart those whose back-off is over. Returns why
        everything must stop (a crash loop), or None."""
        now = self._clock()
        for child in self._children:
            process = child.process
            if process is not None and process.poll() is not None:
                reason = self._exited(child, process, now)
                if reason:
                    return reason
            elif process is None and child.restart_at is not None and now >= child.restart_at:
                self._start(child)
                self._say(f"{child.spec.name}: restarted (pid {child.process.pid if child.process else '?'}).")
        return None

    def _exited(self, child: _Child, process: subprocess.Popen[bytes], now: float) -> str | None:
        name = child.spec.name
        what = exit_description(process.returncode)
        # What the child started goes with it (a pool's processes, an embedded beat).
        if group_alive(process.pid):
            group_signal(process.pid, signal.SIGKILL)
        child.process = None
        if now - child.started_at >= self.stable_after:
            child.backoff = self.backoff_first
        child.crashes.append(now)
        while child.crashes and now - child.crashes[0] > self.crash_window:
            child.crashes.popleft()
        if len(child.crashes) >= self.crash_limit:
            return (
                f"{name} {what}: {len(child.crashes)} crashes within {self.crash_window:.0f} s, a crash loop. "
                f"Stopping everything; its output above says why."
            )
        delay = child.backoff
        child.backoff = min(child.backoff * 2, self.backoff_max)
        child.restart_at = now + delay
        self._warn(
            f"{name} {what}; restarting it in {delay:g} s "
            f"(crash {len(child.crashes)} of {self.crash_limit} allowed within {self.crash_window:.0f} s)."
        )
        return None

    def stop(self) -> None:
        """SIGTERM to every child's group, in reverse order of start; SIGKILL to the groups still
        there after ``grace`` seconds. Returns when every group is gone."""
        groups: list[tuple[_Child, subprocess.Popen[bytes]]] = []
        for child in reversed(self._children):
            child.restart_at = None
            if child.process is not None:
                groups.append((child, child.process))
                group_signal(child.process.pid, signal.SIGTERM)
            child.process = None
        deadline = self._clock() + self.grace
        for child, process in groups:
            # The leader first, then the rest of its group (a member may still be finishing).
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - self._clock()))
            while group_alive(process.pid) and self._clock() < deadline:
                time.sleep(0.05)
            if process.poll() is None or group_alive(process.pid):
                self._warn(f"{child.spec.name} did not stop within {self.grace:g} s: killed.")
                group_signal(process.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=5)
                end = time.monotonic() + 5
                while group_alive(process.pid) and time.monotonic() < end:
                    time.sleep(0.05)
