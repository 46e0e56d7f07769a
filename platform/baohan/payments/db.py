"""Set-based writes for the money paths: ids taken in one round trip, rows sent by COPY,
updates joined against arrays. Used where a batch may hold a hundred thousand rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from psycopg.types.json import Jsonb


def ids_take(table: str, count: int) -> list[int]:
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [int(row[0]) for row in cursor.fetchall()]


def rows_copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY ``rows`` into ``table``; dicts go in as JSONB, lists as arrays."""
    written = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([Jsonb(v) if isinstance(v, dict) else v for v in row])
                written += 1
    return written


def rows_update(table: str, key: str, columns: dict[str, str], rows: Sequence[Sequence[Any]]) -> int:
    """``UPDATE table SET col = v.col ... FROM unnest(arrays) WHERE table.key = v.key``.

    ``columns`` maps each column (key first) to its SQL array type; ``rows`` holds values in that order."""
    if not rows:
        return 0
    names = list(columns)
    arrays = [[row[i] for row in rows] for i in range(len(names))]
    unnest = ", ".join(f"%s::{columns[name]}[]" for name in names)
    sets = ", ".join(f"{name} = v.{name}" for name in names if name != key)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET {sets} FROM unnest({unnest}) AS v({', '.join(names)}) WHERE t.{key} = v.{key}",
            arrays,
        )
        return int(cursor.rowcount)
