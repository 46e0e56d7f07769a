"""Set-based reads and writes for the money paths: ids taken in one round trip, rows sent by
COPY, updates joined against arrays. Used where a batch may hold a hundred thousand rows.

Django's cursors bind parameters on the client, which spells every array out as quoted text;
``bulk_cursor`` binds them on the server instead, so ``%b`` sends an array in binary (four
times faster for 20,000 ids)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection
from psycopg.pq import Format

# psycopg's own reader of timestamps (compiled), where Django's connection has a pure-Python
# one: the session's time zone (UTC) is the same either way.
_TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid
_TIMESTAMPTZ_LOADER = psycopg.adapters.get_loader(_TIMESTAMPTZ, Format.TEXT)


@contextmanager
def bulk_cursor() -> Iterator[psycopg.Cursor[Any]]:
    """A server-binding cursor on the current connection (same transaction, same tenant)."""
    # The Django cursor connects and sets the tenant's search path.
    with connection.cursor() as cursor, psycopg.Cursor(cursor.cursor.connection) as raw:
        if _TIMESTAMPTZ_LOADER is not None:
            raw.adapters.register_loader(_TIMESTAMPTZ, _TIMESTAMPTZ_LOADER)
        yield raw


def ids_take(table: str, count: int) -> list[int]:
    """``count`` new ids of ``table``, in one round trip."""
    if count == 0:
        return []
    with bulk_cursor() as cursor:
        # The sequence named once: looked up per row, the name costs five times the numbers.
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        row = cursor.fetchone()
        assert row is not None
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [row[0], count])
        return [int(r[0]) for r in cursor.fetchall()]


_COLUMN_TYPES: dict[str, dict[str, int]] = {}


def _column_types(cursor: psycopg.Cursor[Any], table: str) -> dict[str, int]:
    """Each column's type (oid) of ``table``: the same in every centre's schema, so read once."""
    if table not in _COLUMN_TYPES:
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
            [table],
        )
        _COLUMN_TYPES[table] = {name: int(oid) for name, oid in cursor.fetchall()}
    return _COLUMN_TYPES[table]


def rows_copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY ``rows`` into ``table`` in binary (values as Python holds them: lists for arrays,
    dicts for JSON)."""
    written = 0
    with bulk_cursor() as raw:
        types = _column_types(raw, table)
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([types[name] for name in columns])
            for row in rows:
                copy.write_row(row)
                written += 1
    return written


def rows_update(
    table: str,
    key: str,
    columns: dict[str, str],
    rows: Sequence[Sequence[Any]],
    *,
    fixed: dict[str, Any] | None = None,
) -> int:
    """``UPDATE table SET col = v.col ..., other = value ... FROM unnest(arrays) WHERE table.key = v.key``.

    ``columns`` maps each column (key first) to its SQL array type; ``rows`` holds values in that
    order. ``fixed`` sets columns to one value for every row."""
    if not rows:
        return 0
    names = list(columns)
    arrays = [[row[i] for row in rows] for i in range(len(names))]
    unnest = ", ".join(f"%b::{columns[name]}[]" for name in names)
    sets = [f"{name} = v.{name}" for name in names if name != key]
    sets += [f"{name} = %s" for name in fixed or {}]
    with bulk_cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET {', '.join(sets)} "
            f"FROM unnest({unnest}) AS v({', '.join(names)}) WHERE t.{key} = v.{key}",
            [*(fixed or {}).values(), *arrays],
        )
        return int(cursor.rowcount)
