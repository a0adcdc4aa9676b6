"""Offset pagination (``?page=3``) and keyset, or cursor, pagination (``?after=<cursor>``).

Offset pages are what admin lists and numbered pagers need; keyset pages stay fast and
stable however deep a client scrolls and while rows are added, which is what feeds and
infinite lists need. Both return msgspec Structs ready to be returned from a handler once
their items are converted with ``.to(Schema)``::

    @app.get("/cards")
    async def cards(db: Session, after: str | None = None) -> CursorPage[CardOut]:
        page = await paginate_keyset(db, select(Card), order_by=[Card.created_at.desc()],
                                     after=after)
        return page.to(CardOut)
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from tidal.db.models import python_type
from tidal.http.errors import FieldError, ValidationFailed

T = TypeVar("T")
U = TypeVar("U")


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """One page of an offset-paginated list.

    Attributes:
        items: the rows of this page.
        page: the page number, from 1.
        per_page: the page size asked for (after clamping to the maximum).
        total: the number of rows on all pages (``None`` when not counted).
        pages: the number of pages (``None`` when not counted).
        has_next: whether a later page has rows.
        has_prev: whether an earlier page exists.
    """

    items: list[T]
    page: int
    per_page: int
    total: int | None = None
    pages: int | None = None
    has_next: bool = False
    has_prev: bool = False

    def map(self, function: Callable[[T], U]) -> Page[U]:
        """The same page with ``function`` applied to each item."""
        return Page(
            items=[function(item) for item in self.items],
            page=self.page,
            per_page=self.per_page,
            total=self.total,
            pages=self.pages,
            has_next=self.has_next,
            has_prev=self.has_prev,
        )

    def to(self, schema: type[U]) -> Page[U]:
        """The same page with items converted to ``schema`` (e.g. a derived output Struct)."""
        return self.map(lambda item: msgspec.convert(item, schema, from_attributes=True))


class CursorPage(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a keyset-paginated list.

    Attributes:
        items: the rows of this page.
        next_cursor: pass it as ``after`` for the next page; ``None`` on the last page.
        has_next: whether there is a next page.
    """

    items: list[T]
    next_cursor: str | None = None
    has_next: bool = False

    def map(self, function: Callable[[T], U]) -> CursorPage[U]:
        return CursorPage(
            items=[function(item) for item in self.items],
            next_cursor=self.next_cursor,
            has_next=self.has_next,
        )

    def to(self, schema: type[U]) -> CursorPage[U]:
        return self.map(lambda item: msgspec.convert(item, schema, from_attributes=True))


async def _rows(db: AsyncSession, statement: Select[Any]) -> list[Any]:
    if len(statement.column_descriptions) == 1:
        return list(await db.scalars(statement))
    return list(await db.execute(statement))


async def paginate(
    db: AsyncSession,
    statement: Select[Any],
    *,
    page: int = 1,
    per_page: int = 20,
    max_per_page: int = 100,
    count: bool = True,
) -> Page[Any]:
    """Page ``page`` (from 1) of ``statement``, which should have an ``order_by``.

    ``per_page`` is clamped to ``1..max_per_page``; ``count=False`` skips the
    ``COUNT(*)`` query (``total`` and ``pages`` are then ``None``). A page past the end is
    empty; a page below 1 is a 422 naming the ``page`` query parameter.
    """
    if page < 1:
        raise ValidationFailed([FieldError("page", "Expected a page number >= 1.", "query")])
    per_page = max(1, min(per_page, max_per_page))
    rows = await _rows(db, statement.limit(per_page + 1).offset((page - 1) * per_page))
    total = pages = None
    if count:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        total = int(await db.scalar(counted) or 0)
        pages = max(1, -(-total // per_page))
    return Page(
        items=rows[:per_page],
        page=page,
        per_page=per_page,
        total=total,
        pages=pages,
        has_next=len(rows) > per_page,
        has_prev=page > 1,
    )


class _Key:
    """One ordering key: the column, the attribute name it has on a row, its direction."""

    __slots__ = ("column", "descending", "name", "python_type")

    def __init__(self, expression: Any) -> None:
        descending = False
        if isinstance(expression, UnaryExpression):
            if expression.modifier is operators.desc_op:
                descending = True
            elif expression.modifier is not operators.asc_op:
                raise TypeError(f"Unsupported ordering {expression!r}; use attr.asc()/desc().")
            expression = expression.element
        name: Any = None
        if isinstance(expression, InstrumentedAttribute):
            name = expression.key
        else:
            # ``Card.id.desc()`` holds the mapped column, annotated with its attribute name.
            annotations = getattr(expression, "_annotations", {})
            name = annotations.get("proxy_key") if "parentmapper" in annotations else None
        if not isinstance(name, str):
            raise TypeError(
                f"Keyset pagination orders by model attributes (Card.created_at, "
                f"Card.id.desc()), not {expression!r}."
            )
        self.column: ColumnElement[Any] = expression
        self.name = name
        self.descending = descending
        self.python_type: Any = python_type(expression.type)

    def ordering(self) -> ColumnElement[Any]:
        return self.column.desc() if self.descending else self.column.asc()

    def after(self, value: Any) -> ColumnElement[bool]:
        condition: ColumnElement[bool] = (
            self.column < value if self.descending else self.column > value
        )
        return condition


def _keys(statement: Select[Any], order_by: Sequence[Any]) -> list[_Key]:
    keys = [_Key(expression) for expression in order_by]
    descriptions = statement.column_descriptions
    entity = descriptions[0].get("entity") if descriptions else None
    if entity is not None:
        from sqlalchemy import inspect as sa_inspect

        mapper = sa_inspect(entity)
        names = {key.name for key in keys}
        for column in mapper.primary_key:
            prop = mapper.get_property_by_column(column)
            if prop.key not in names:
                keys.append(_Key(getattr(entity, prop.key)))  # a total order: ties broken by pk
    return keys


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(values))).decode().rstrip("=")


def decode_cursor(cursor: str, keys: Sequence[_Key], parameter: str = "after") -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = msgspec.json.decode(raw, type=list[Any])
        if len(values) != len(keys):
            raise ValueError("wrong length")
        return [
            msgspec.convert(value, key.python_type, strict=False)
            for value, key in zip(values, keys, strict=True)
        ]
    except (ValueError, binascii.Error, msgspec.DecodeError, msgspec.ValidationError):
        raise ValidationFailed(
            [FieldError(parameter, "Invalid cursor; start again without it.", "query")]
        ) from None


async def paginate_keyset(
    db: AsyncSession,
    statement: Select[Any],
    *,
    order_by: Sequence[Any],
    after: str | None = None,
    limit: int = 20,
    max_limit: int = 100,
) -> CursorPage[Any]:
    """The ``limit`` rows of ``statement`` that follow the cursor ``after`` in
    ``order_by`` order (model attributes, each ``.asc()`` or ``.desc()``).

    The primary key is appended to ``order_by`` when missing, so rows with equal keys are
    neither skipped nor repeated. Key columns must not be NULL. An invalid cursor is a 422
    naming the ``after`` query parameter.
    """
    keys = _keys(statement, order_by)
    limit = max(1, min(limit, max_limit))
    query = statement.order_by(None).order_by(*(key.ordering() for key in keys))
    if after:
        values = decode_cursor(after, keys)
        # (k1, k2, ...) after (v1, v2, ...): k1 past v1, or k1 = v1 and k2 past v2, ...
        branches = []
        for i, key in enumerate(keys):
            equal = [keys[j].column == values[j] for j in range(i)]
            branches.append(and_(*equal, key.after(values[i])))
        query = query.where(or_(*branches))
    rows = await _rows(db, query.limit(limit + 1))
    has_next = len(rows) > limit
    rows = rows[:limit]
    cursor = None
    if has_next and rows:
        last = rows[-1]
        cursor = encode_cursor([getattr(last, key.name) for key in keys])
    return CursorPage(items=rows, next_cursor=cursor, has_next=has_next)


__all__ = ["CursorPage", "Page", "decode_cursor", "encode_cursor", "paginate", "paginate_keyset"]
