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
from psycopg.types.json import Jsonb


@contextmanager
def bulk_cursor() -> Iterator[psycopg.Cursor[Any]]:
    """A server-binding cursor on the current connection (same transaction, same tenant)."""
    # The Django cursor connects and sets the tenant's search path.
    with connection.cursor() as cursor, psycopg.Cursor(cursor.cursor.connection) as raw:
        yield raw


def ids_take(table: str, count: int) -> list[int]:
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [int(row[0]) for row in cursor.fetchall()]


def rows_copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, json: Sequence[str] = ()) -> int:
    """COPY ``rows`` into ``table``; lists go in as arrays, the ``json`` columns' values as JSONB."""
    written = 0
    wrap = [columns.index(name) for name in json]
    with bulk_cursor() as raw, raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            if wrap:
                row = list(row)
                for i in wrap:
                    row[i] = Jsonb(row[i])
            copy.write_row(row)
            written += 1
    return written


def rows_update(table: str, key: str, columns: dict[str, str], rows: Sequence[Sequence[Any]]) -> int:
    """``UPDATE table SET col = v.col ... FROM unnest(arrays) WHERE table.key = v.key``.

    ``columns`` maps each column (key first) to its SQL array type; ``rows`` holds values in that order."""
    if not rows:
        return 0
    names = list(columns)
    arrays = [[row[i] for row in rows] for i in range(len(names))]
    unnest = ", ".join(f"%b::{columns[name]}[]" for name in names)
    sets = ", ".join(f"{name} = v.{name}" for name in names if name != key)
    with bulk_cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET {sets} FROM unnest({unnest}) AS v({', '.join(names)}) WHERE t.{key} = v.{key}",
            arrays,
        )
        return int(cursor.rowcount)
