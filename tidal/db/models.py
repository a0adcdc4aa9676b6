"""``Model``, the declarative base of every table, and what models share.

Models are SQLAlchemy 2 declarative classes with typed ``Mapped[...]`` columns, written in
an installed app's ``models.py``::

    class Card(TimestampMixin, Model):
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str] = mapped_column(String(200))

Every constraint gets a name from ``NAMING_CONVENTION``, so migrations generated on any
machine (and on SQLite or PostgreSQL) name them the same way and can drop them later.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, MetaData, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

if TYPE_CHECKING:
    from tidal.apps import AppConfig

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: ``mapped_column(..., info=READ_ONLY)`` marks a column clients may not set: derived input
#: schemas (``create_schema``, ``update_schema``) leave it out.
READ_ONLY: dict[str, Any] = {"tidal.read_only": True}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def table_name_for(class_name: str) -> str:
    """``CardComment`` -> ``card_comment``: the default ``__tablename__``."""
    return _CAMEL.sub("_", class_name).lower()


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class UTCDateTime(TypeDecorator[datetime.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (also on SQLite, which
    has no time zones). A naive value is taken to be UTC already."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[Any]:
        return datetime.datetime

    def process_bind_param(
        self, value: datetime.datetime | None, dialect: Dialect
    ) -> datetime.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.UTC)
        return value.astimezone(datetime.UTC)

    def process_result_value(
        self, value: datetime.datetime | None, dialect: Dialect
    ) -> datetime.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.UTC)
        return value.astimezone(datetime.UTC)


def python_type(sql_type: TypeEngine[Any]) -> Any:
    """The Python type of a column type's values (``Any`` when it has none), looking
    through ``TypeDecorator`` wrappers that do not declare their own."""
    enum_class = getattr(sql_type, "enum_class", None)
    if enum_class is not None:
        return enum_class
    try:
        found: Any = sql_type.python_type
    except NotImplementedError:
        return Any
    if found is object and isinstance(sql_type, TypeDecorator):
        return python_type(sql_type.impl_instance)
    return found


class Model(DeclarativeBase):
    """Base class of all Tidal models.

    The table is named after the class in snake_case (``CardComment`` ->
    ``card_comment``) unless ``__tablename__`` says otherwise; set ``__tablename__ = None``
    on a single-table-inheritance subclass. ``Mapped[datetime]`` columns are
    ``UTCDateTime``.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime.datetime: UTCDateTime}

    @declared_attr.directive
    def __tablename__(cls) -> str | None:
        return table_name_for(cls.__name__)

    def __repr__(self) -> str:
        from sqlalchemy import inspect

        state = inspect(self)
        keys = [
            state.mapper.get_property_by_column(column).key for column in state.mapper.primary_key
        ]
        values = " ".join(f"{key}={state.dict.get(key)!r}" for key in keys)
        return f"<{type(self).__name__} {values}>"


class TimestampMixin:
    """``created_at`` and ``updated_at`` (UTC), set by Tidal on insert and on update.

    Both are read-only for clients and placed after the model's own columns.
    """

    created_at: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, info=READ_ONLY, sort_order=1000
    )
    updated_at: Mapped[datetime.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, info=READ_ONLY, sort_order=1001
    )


def models_of(config: AppConfig) -> list[type[Any]]:
    """The mapped classes declared in the app's package (its ``models`` and submodules)."""
    prefix = config.name + "."
    found = []
    for mapper in Model.registry.mappers:
        module = mapper.class_.__module__
        if module == config.name or module.startswith(prefix):
            found.append(mapper.class_)
    return sorted(found, key=lambda cls: cls.__qualname__)


def tables_of(config: AppConfig) -> dict[str, Table]:
    """The tables the app declares: those of its models, and plain ``Table`` objects (such
    as many-to-many association tables) defined in its ``models`` module."""
    tables: dict[str, Table] = {}
    for cls in models_of(config):
        for table in _mapped_tables(cls):
            tables[table.key] = table
    module: ModuleType | None = config.models_module
    if module is not None:
        for value in vars(module).values():
            if isinstance(value, Table) and value.metadata is Model.metadata:
                tables[value.key] = value
    return tables


def _mapped_tables(cls: type[Any]) -> Iterator[Table]:
    from sqlalchemy import inspect

    mapper = inspect(cls)
    table = mapper.local_table
    parent = mapper.inherits
    if isinstance(table, Table) and (parent is None or parent.local_table is not table):
        yield table


__all__ = [
    "NAMING_CONVENTION",
    "READ_ONLY",
    "Model",
    "TimestampMixin",
    "UTCDateTime",
    "models_of",
    "python_type",
    "table_name_for",
    "tables_of",
    "utcnow",
]
