"""The query helpers a Django user reaches for: ``get_or_404``, ``exists``, ``count`` and
bulk writes, each a thin, typed layer over SQLAlchemy 2 statements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, func, insert, select, update
from sqlalchemy import exists as sa_exists
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.interfaces import ORMOption

from tidal.db.changes import change_for, record
from tidal.http.errors import NotFound

T = TypeVar("T")


def _name(model: type[Any]) -> str:
    from tidal.db.models import table_name_for

    return table_name_for(model.__name__).replace("_", " ")


_by_primary_key: dict[type[Any], tuple[Select[Any], tuple[str, ...], Any]] = {}


def _primary_key_statement(model: type[Any]) -> tuple[Select[Any], tuple[str, ...], Any]:
    """``SELECT ... WHERE pk = :pk_0``, built once per model: executing a prebuilt
    statement skips rebuilding it and recomputing its cache key on every call."""
    cached = _by_primary_key.get(model)
    if cached is None:
        mapper = sa_inspect(model)
        names = tuple(f"pk_{i}" for i in range(len(mapper.primary_key)))
        pairs = zip(mapper.primary_key, names, strict=True)
        statement = select(model).where(*(column == bindparam(name) for column, name in pairs))
        cached = _by_primary_key[model] = (statement, names, mapper)
    return cached


async def get(
    db: AsyncSession, model: type[T], ident: Any, *, options: Sequence[ORMOption] = ()
) -> T | None:
    """``db.get(model, ident)``, faster when the row is not in the session yet: same
    result, same identity map, one prebuilt statement."""
    if options:
        return await db.get(model, ident, options=options)
    statement, names, mapper = _primary_key_statement(model)
    values = ident if isinstance(ident, tuple) else (ident,)
    if len(values) != len(names):
        return await db.get(model, ident)  # SQLAlchemy explains what is wrong
    key = mapper.identity_key_from_primary_key(values)
    if key in db.sync_session.identity_map:
        return await db.get(model, ident)  # loaded already (maybe expired, or deleted)
    result = await db.execute(statement, dict(zip(names, values, strict=True)))
    obj: T | None = result.scalars().first()
    return obj


async def get_or_404(
    db: AsyncSession,
    model: type[T],
    ident: Any,
    *,
    options: Sequence[ORMOption] = (),
    detail: str | None = None,
) -> T:
    """The ``model`` row with primary key ``ident`` (a tuple for composite keys), or a 404
    saying which was missing."""
    obj = await get(db, model, ident, options=options)
    if obj is None:
        raise NotFound(detail or f"No {_name(model)} with id {ident!r}.")
    return obj


async def first_or_404(
    db: AsyncSession, statement: Select[Any], *, detail: str | None = None
) -> Any:
    """The first result of ``statement`` (a one-entity select), or a 404."""
    obj = (await db.scalars(statement.limit(1))).first()
    if obj is None:
        raise NotFound(detail or "No such record.")
    return obj


def _where(model: type[Any], filters: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    return [getattr(model, key) == value for key, value in filters.items()]


async def exists(
    db: AsyncSession,
    target: type[Any] | Select[Any],
    /,
    *where: ColumnElement[bool],
    **filters: Any,
) -> bool:
    """Whether any row matches, without loading one: ``exists(db, Card, board_id=3)``,
    ``exists(db, Card, Card.title.ilike("%x%"))`` or ``exists(db, select(Card)...)``."""
    if isinstance(target, Select):
        statement = target.where(*where) if where else target
    else:
        statement = select(target).where(*where, *_where(target, filters))
    result = await db.scalar(select(sa_exists(statement)))
    return bool(result)


async def count(
    db: AsyncSession,
    target: type[Any] | Select[Any],
    /,
    *where: ColumnElement[bool],
    **filters: Any,
) -> int:
    """How many rows match: ``count(db, Card, board_id=3)`` or ``count(db, statement)``."""
    if isinstance(target, Select):
        statement = target.where(*where) if where else target
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
    else:
        counted = select(func.count()).select_from(target).where(*where, *_where(target, filters))
    return int(await db.scalar(counted) or 0)


async def bulk_insert(
    db: AsyncSession, model: type[T], rows: Iterable[Mapping[str, Any]]
) -> list[T]:
    """Insert many rows in as few statements as the driver allows and return them as
    objects (with their primary keys). Column defaults apply. The rows are captured like
    ``db.add``'s: ``on_commit`` listeners see one insert per row, and a broadcasting
    model writes its outbox rows in this transaction."""
    values = [dict(row) for row in rows]
    if not values:
        return []
    objects = list(await db.scalars(insert(model).returning(model), values))
    changes = (change_for("insert", obj) for obj in objects)
    await record(db, [change for change in changes if change is not None])
    return objects


async def bulk_update(db: AsyncSession, model: type[Any], rows: Iterable[Mapping[str, Any]]) -> int:
    """Update many rows by primary key: each mapping holds the primary key and the
    attributes to set (``[{"id": 1, "title": "A"}, ...]``). Returns the number of rows
    given. Objects already loaded in the session are not refreshed.

    The updated rows are captured (read back by primary key after the update): listeners
    and broadcasts see each one with all its values, ``changed`` naming the keys given."""
    values = [dict(row) for row in rows]
    if not values:
        return 0
    mapper = sa_inspect(model)
    pk_keys = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
    missing = [i for i, row in enumerate(values) if any(k not in row for k in pk_keys)]
    if missing:
        raise ValueError(
            f"bulk_update: rows {missing[:5]} lack the primary key {pk_keys}; every row "
            "must name the row it updates."
        )
    await db.execute(update(model), values)  # captured by tidal.db.changes
    return len(values)


__all__ = ["bulk_insert", "bulk_update", "count", "exists", "first_or_404", "get", "get_or_404"]
