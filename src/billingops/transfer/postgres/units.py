"""What is copied and in which order: a unit is a whole table or one ctid block range of a table larger than
the split size (TID range scans, PostgreSQL 14+), the ranges of one table running in parallel; and the COPY
statement parts (source, column list, format) that the psql pipe (copy.py) and the in-session copy of small
tables (smallcopy.py) share, so both speak one COPY syntax.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from billingops.transfer.postgres.inspect import TableInfo, quote_ident

MIN_SPLIT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Unit:
    """One COPY pipe: a whole table, or one block range of a split table."""

    table: TableInfo
    index: int = 0
    count: int = 1
    first_block: int | None = None
    end_block: int | None = None  # exclusive; None = to the end of the table

    @property
    def split(self) -> bool:
        return self.count > 1

    @property
    def name(self) -> str:
        return self.table.key if not self.split else f"{self.table.key} [{self.index + 1}/{self.count}]"

    def where(self) -> str:
        clauses = []
        if self.first_block is not None and self.first_block > 0:
            clauses.append(f"ctid >= '({self.first_block},0)'::tid")
        if self.end_block is not None:
            clauses.append(f"ctid < '({self.end_block},0)'::tid")
        return (" WHERE " + " AND ".join(clauses)) if clauses else ""

    def select(self) -> str:
        cols = ", ".join(quote_ident(c) for c in self.table.columns)  # empty for a zero-column table: SELECT FROM
        return f"SELECT {cols} FROM ONLY {self.table.qualified()}{self.where()}"  # nosec B608  # noqa: S608  # quoted identifiers


@dataclass
class UnitResult:
    unit: Unit
    rows: int
    seconds: float


def split_bytes_for(tables: list[TableInfo], jobs: int, override_mb: float | None = None) -> int:
    """Split size: only a table far bigger than one worker's share of the copy is cut into ranges.

    A whole table is copied with COPY FREEZE (truncated in the same transaction); a range cannot be. Frozen
    pages need no hint-bit pass on their first read and are all-visible, so its index builds and foreign
    key checks (index-only merge joins) cost far less: measured on 10M rows, two ranges of the biggest table
    made the whole migration slower than one pipe (22.4 s / 20.5 s against 19.9 s / 16.9 s).
    """
    if override_mb is not None:
        return max(1, int(override_mb * 1024 * 1024))
    total = sum(t.bytes for t in tables)
    return max(MIN_SPLIT_BYTES, int(1.5 * total / max(1, jobs)))


def plan_units(tables: list[TableInfo], *, split_bytes: int) -> list[Unit]:
    """All units, biggest first so the long ones start early (longest-processing-time scheduling).

    The biggest table starts first even when it references smaller tables: its copy, then its index builds,
    then its foreign keys are the migration's critical path, and its keys are added after its rows are in
    anyway; the small tables it references are copied (and indexed) meanwhile by the other workers."""
    units: list[Unit] = []
    for table in tables:
        parts = math.ceil(table.bytes / split_bytes) if table.bytes > split_bytes and table.pages > 1 else 1
        parts = min(parts, table.pages) if parts > 1 else 1
        if parts == 1:
            units.append(Unit(table))
            continue
        step = math.ceil(table.pages / parts)
        bounds = list(range(0, table.pages, step))
        for index, first in enumerate(bounds):
            last = index == len(bounds) - 1
            # The last range is open-ended: rows the snapshot sees never sit past the table's end, but the
            # size was read a moment after the snapshot.
            units.append(Unit(table, index, len(bounds), first, None if last else first + step))
    units.sort(key=lambda u: (-u.table.bytes / u.count, u.table.key, u.index))
    return units


def source_of(unit: Unit) -> str:
    """`table (cols)` for a whole table: COPY reads it directly (a third less source CPU than COPY
    (SELECT ...),
    which goes through the executor); a ctid range needs the query form."""
    if not unit.split:
        return f"{unit.table.qualified()}{column_list(unit.table)}"
    return f"({unit.select()})"


def column_list(table: TableInfo) -> str:
    """` (cols)`, or nothing for a table without copied columns: COPY then carries its (empty) rows, which
    `()` would refuse as a syntax error. Without a list COPY takes every column but the generated ones,
    which are exactly the copied ones."""
    if not table.columns:
        return ""
    return " (" + ", ".join(quote_ident(c) for c in table.columns) + ")"


def copy_format(table: TableInfo) -> str:
    """binary, or text where a column's type cannot travel in binary (postgres_copyformat)."""
    return "text" if table.text_copy else "binary"
