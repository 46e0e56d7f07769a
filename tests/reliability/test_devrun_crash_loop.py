"""``make run`` in a crash loop: a child that keeps crashing (here the web server, refused by a bad
setting of its own) is restarted with back-off, said on the console each time, and the fifth
crash within a minute stops everything: ``devrun`` exits with 1 and says why, leaving no process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.test_devrun_supervision import Devrun, _alive, _until


@pytest.mark.usefixtures("committed_db")
def test_a_crash_loop_stops_devrun_with_a_clear_message(tmp_path: Path) -> None:
    # The development server alone; it reads DEVSERVER_LISTEN_QUEUE as it starts and dies on this one.
    devrun = Devrun(tmp_path, "--no-worker", DEVSERVER_LISTEN_QUEUE="not-a-number")
    try:
        family: set[int] = set()

        def ended() -> bool:
            family.update(devrun.family())
            return devrun.process.poll() is not None

        # Back-off 1 + 2 + 4 + 8 s between the five crashes.
        _until(ended, 60, "devrun stopped by the crash loop", 0.2)
        text = devrun.text()
        assert devrun.process.returncode == 1, text[-3000:]
        for n, delay in enumerate((1, 2, 4, 8), start=1):
            assert f"[devrun] web exited with code 1; restarting it in {delay} s (crash {n} of 5" in text
        assert text.count("[devrun] web: restarted (pid") == 4
        assert "web exited with code 1: 5 crashes within 60 s, a crash loop. Stopping everything" in text
        assert "Stopped." in text
        assert family
        assert not any(_alive(pid) for pid in family)
    finally:
        devrun.kill()
