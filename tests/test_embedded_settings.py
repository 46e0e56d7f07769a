"""The embedded cluster's settings: written into its configuration before it starts, once, and
brought up to date in a cluster made by an earlier version; and in force on the test server."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from baohan.embedded import SERVER_SETTINGS, SETTINGS_BEGIN, data_dir, settings_write


def test_the_settings_are_written_once_and_an_old_block_is_replaced(tmp_path: Path) -> None:
    conf = tmp_path / "postgresql.conf"
    assert settings_write(tmp_path) is False  # no cluster there yet: nothing to write
    conf.write_text("# stock configuration\nport = 5432\n")
    assert settings_write(tmp_path) is True
    text = conf.read_text()
    assert text.startswith("# stock configuration\nport = 5432\n")
    assert "shared_buffers = '1GB'" in text
    assert settings_write(tmp_path) is False  # unchanged the second time
    # A block from an earlier version is replaced, not added to.
    conf.write_text(text.replace("shared_buffers = '1GB'", "shared_buffers = '64MB'") + "log_min_messages = warning\n")
    assert settings_write(tmp_path) is True
    text = conf.read_text()
    assert text.count(SETTINGS_BEGIN) == 1
    assert "shared_buffers = '1GB'" in text
    assert "'64MB'" not in text
    assert text.endswith("log_min_messages = warning\n")


@pytest.mark.django_db
def test_the_test_server_runs_with_them() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        if Path(cursor.fetchone()[0]).resolve() != (data_dir() / "postgres").resolve():
            pytest.skip("a configured server, not the embedded one")
        cursor.execute("SELECT current_setting('max_wal_size'), current_setting('checkpoint_timeout')")
        assert cursor.fetchone() == (SERVER_SETTINGS["max_wal_size"], SERVER_SETTINGS["checkpoint_timeout"])
