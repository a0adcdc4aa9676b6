"""Database errors as HTTP answers, so a data problem is never a 500.

* a unique constraint violated: **409**, naming the fields (``$.email``);
* a foreign key pointing nowhere: **422** naming the field; a row still referenced by
  others deleted: **409**;
* a NOT NULL or CHECK constraint violated: **422**;
* the database unreachable, gone mid-request, overloaded or all pooled connections busy:
  **503** with ``Retry-After``.

Both PostgreSQL (SQLSTATE codes and asyncpg's error fields) and SQLite (its error names
and messages) are understood.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.schema import CheckConstraint, ColumnCollectionConstraint, Table

from tidal.db.exceptions import DatabaseUnavailable
from tidal.http.errors import Conflict, FieldError, HTTPError, ServiceUnavailable, ValidationFailed

# SQLSTATE classes and codes that mean "try again later", not "your request is wrong":
# 08 connection exception, 53 insufficient resources, 57P operator intervention (server
# shutting down), 40001 serialization failure, 40P01 deadlock, 55P03 lock not available.
_TRANSIENT_CLASSES = ("08", "53", "57P")
_TRANSIENT_CODES = frozenset({"40001", "40P01", "55P03"})
_SQLITE_TRANSIENT = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_CANTOPEN",
    "SQLITE_FULL",
    "SQLITE_PROTOCOL",
)
_PG_KEY = re.compile(r"Key \((?P<columns>.+?)\)=")
_PG_TABLE = re.compile(r'table "(?P<table>[^"]+)"')
_SQLITE_COLUMNS = re.compile(r"constraint failed: (?P<columns>.+)$")
_STATEMENT_TABLE = re.compile(
    r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(?P<table>[\w.]+)"?',
    re.IGNORECASE,
)


def translate(exc: BaseException, *, retry_after: int = 5) -> HTTPError | None:
    """The HTTP error a database exception should be answered with, or ``None`` when it
    is not a database condition the client can act on (a bug stays a 500)."""
    if isinstance(exc, HTTPError):
        return None
    if isinstance(exc, DatabaseUnavailable):
        return unavailable("The database cannot be reached right now.", retry_after)
    if isinstance(exc, sa_exc.TimeoutError):
        return unavailable("All database connections are busy.", retry_after)
    if isinstance(exc, sa_exc.IntegrityError):
        return integrity_error(exc)
    if isinstance(exc, sa_exc.DBAPIError) and (exc.connection_invalidated or _transient(exc.orig)):
        return unavailable("The database is unavailable or overloaded right now.", retry_after)
    return None


def unavailable(reason: str, retry_after: int) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"{reason} Nothing was saved; try again in {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
    )


def _sqlstate(orig: Any) -> str:
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


def _transient(orig: Any) -> bool:
    code = _sqlstate(orig)
    if code:
        return code.startswith(_TRANSIENT_CLASSES) or code in _TRANSIENT_CODES
    name = str(getattr(orig, "sqlite_errorname", ""))
    if name:
        return name.startswith(_SQLITE_TRANSIENT)
    message = str(orig).lower()
    return "database is locked" in message or "unable to open database" in message


# -- integrity errors ----------------------------------------------------------------------


def integrity_error(exc: sa_exc.IntegrityError) -> HTTPError:
    orig = exc.orig
    code = _sqlstate(orig)
    message = str(orig)
    cause = getattr(orig, "__cause__", None)  # asyncpg's own error carries the fields
    detail = str(getattr(cause, "detail", "") or "")
    constraint = str(getattr(cause, "constraint_name", "") or "")
    table = str(getattr(cause, "table_name", "") or "") or _statement_table(exc.statement)
    name = str(getattr(orig, "sqlite_errorname", "") or "")
    if (
        code == "23505"
        or "UNIQUE" in name
        or "PRIMARYKEY" in name
        or (not code and message.startswith("UNIQUE constraint failed"))
    ):
        columns = _constraint_columns(constraint) or _pg_columns(detail) or _sqlite_columns(message)
        return _unique(table or _sqlite_table(message), columns)
    if code == "23503" or "FOREIGNKEY" in name or "FOREIGN KEY" in message:
        return _foreign_key(exc, table, detail, constraint)
    if code == "23502" or "NOTNULL" in name or "NOT NULL constraint" in message:
        column = str(getattr(cause, "column_name", "") or "")
        columns = [column] if column else _sqlite_columns(message)
        table = table or _sqlite_table(message)
        fields = _fields(table, columns)
        return ValidationFailed(
            [FieldError(f"$.{f}", "This field is required.") for f in fields]
            or [FieldError("$", "A required field is missing.")]
        )
    if code == "23514" or "CHECK" in name or "CHECK constraint" in message:
        constraint = constraint or message.rpartition(":")[2].strip()
        fields = _fields(table, _check_columns(constraint))
        text = f"The value breaks the rule {constraint!r}." if constraint else "A value is invalid."
        return ValidationFailed(
            [FieldError(f"$.{f}", text) for f in fields] or [FieldError("$", text)]
        )
    return Conflict("The change conflicts with data already saved.")


def _unique(table: str, columns: Sequence[str]) -> HTTPError:
    thing = _thing(table)
    fields = _fields(table, columns)
    if not fields:
        return Conflict(f"{_article(thing).capitalize()} {thing} like this already exists.")
    listed = " and ".join(fields)
    message = f"{_article(thing).capitalize()} {thing} with this {listed} already exists."
    return Conflict(message, errors=[FieldError(f"$.{f}", message) for f in fields])


def _foreign_key(exc: sa_exc.IntegrityError, table: str, detail: str, constraint: str) -> HTTPError:
    statement = (exc.statement or "").lstrip().upper()
    if "still referenced" in detail or statement.startswith("DELETE"):
        referrer = _PG_TABLE.search(detail)
        by = f" by {_plural(_thing(referrer['table']))}" if referrer else " by other rows"
        thing = _thing(table)
        return Conflict(f"This {thing} is still referenced{by}; delete or reassign them first.")
    columns = _constraint_columns(constraint) or _pg_columns(detail)
    if not columns:
        columns = _foreign_key_columns(table, exc.params)
    fields = _fields(table, columns)
    target = _PG_TABLE.search(detail)
    what = f"a {_thing(target['table'])}" if target else "a row"
    text = f"Refers to {what} that does not exist."
    return ValidationFailed([FieldError(f"$.{f}", text) for f in fields] or [FieldError("$", text)])


# -- naming fields ---------------------------------------------------------------------------


def _tables() -> dict[str, Table]:
    from tidal.db.models import Model

    return dict(Model.metadata.tables)


def _find_table(name: str) -> Table | None:
    tables = _tables()
    table = tables.get(name)
    if table is None:
        table = next((t for t in tables.values() if t.name == name), None)
    return table


def _fields(table_name: str, columns: Sequence[str]) -> list[str]:
    """Column names as the model's attribute names (what API clients see)."""
    table = _find_table(table_name) if table_name else None
    if table is None:
        return list(columns)
    from tidal.db.models import Model

    mapper = next((m for m in Model.registry.mappers if m.local_table is table), None)
    fields = []
    for name in columns:
        column = table.c.get(name)
        if mapper is not None and column is not None:
            try:
                fields.append(mapper.get_property_by_column(column).key)
                continue
            except Exception:  # noqa: S110 - an unmapped column keeps its own name
                pass
        fields.append(name)
    return fields


def _constraint_columns(name: str) -> list[str]:
    if not name:
        return []
    for table in _tables().values():
        for constraint in table.constraints:
            if constraint.name == name and isinstance(constraint, ColumnCollectionConstraint):
                return [c.name for c in constraint.columns]
        for index in table.indexes:
            if index.name == name:
                return [c.name for c in index.columns]
    return []


def _check_columns(name: str) -> list[str]:
    for table in _tables().values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint) and constraint.name == name:
                columns = [c.name for c in constraint.columns]
                if columns:
                    return columns
                sql = str(constraint.sqltext)
                return [
                    c.name for c in table.columns if re.search(rf"\b{re.escape(c.name)}\b", sql)
                ]
    return []


def _pg_columns(detail: str) -> list[str]:
    match = _PG_KEY.search(detail)
    if not match:
        return []
    return [part.strip().strip('"') for part in match["columns"].split(",")]


def _sqlite_columns(message: str) -> list[str]:
    match = _SQLITE_COLUMNS.search(message)
    if not match:
        return []
    return [part.strip().rpartition(".")[2] for part in match["columns"].split(",")]


def _sqlite_table(message: str) -> str:
    match = _SQLITE_COLUMNS.search(message)
    if not match or "." not in match["columns"]:
        return ""
    return match["columns"].split(",")[0].strip().rpartition(".")[0]


def _statement_table(statement: str | None) -> str:
    match = _STATEMENT_TABLE.match(statement or "")
    return match["table"].rpartition(".")[2] if match else ""


def _foreign_key_columns(table_name: str, params: Any) -> list[str]:
    """SQLite names no column; list the table's foreign keys that were given a value."""
    table = _find_table(table_name)
    if table is None:
        return []
    rows = params if isinstance(params, (list, tuple)) else [params]
    given: set[str] = set()
    for row in rows:
        if isinstance(row, dict):
            given.update(k for k, v in row.items() if v is not None)
    columns = [c.name for c in table.columns if c.foreign_keys]
    named = [c for c in columns if c in given]
    return named or columns


def _thing(table_name: str) -> str:
    """``card_comment`` -> ``card comment``, or the model's name when it is known."""
    table = _find_table(table_name) if table_name else None
    if table is not None:
        from tidal.db.models import Model, table_name_for

        for mapper in Model.registry.mappers:
            if mapper.local_table is table:
                return table_name_for(mapper.class_.__name__).replace("_", " ")
    return table_name.replace("_", " ") if table_name else "record"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _plural(word: str) -> str:
    return word if word.endswith("s") else word + "s"


__all__ = ["integrity_error", "translate", "unavailable"]
