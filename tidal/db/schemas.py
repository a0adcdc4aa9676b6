"""msgspec Structs derived from models, so an API endpoint is a few lines and its OpenAPI
schema is right::

    CardOut = schema(Card)                       # what clients read: every column
    CardIn = create_schema(Card)                 # what they send to create one
    CardPatch = update_schema(Card)              # a partial update: every field optional

    @app.post("/cards", status_code=201)
    async def create(data: CardIn, db: Session) -> CardOut:
        card = build(Card, data)
        db.add(card)
        await db.flush()
        return dump(card, CardOut)

    @app.patch("/cards/{id:int}")
    async def edit(id: int, data: CardPatch, db: Session) -> CardOut:
        card = await get_or_404(db, Card, id)
        apply(card, data)
        return dump(card, CardOut)

Field types come from the ``Mapped[...]`` annotations (or the column type), nullable columns
are ``T | None``, ``String(n)`` gets ``max_length=n``. Input schemas leave out generated
primary keys and ``READ_ONLY`` columns (the timestamps), refuse unknown fields, and mark
optional whatever the database can fill (a default, a server default, NULL). Update schemas
make every field optional with ``msgspec.UNSET``, so "not sent" and "sent as null" differ.
Derivations are cached: asking twice returns the same class.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypeVar, get_args, get_origin

import msgspec
from sqlalchemy import Column, Integer, String
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.schema import ColumnDefault, Identity

from tidal.db.models import READ_ONLY, python_type

T = TypeVar("T")

_cache: dict[tuple[Any, ...], type[msgspec.Struct]] = {}
_SCALAR_DEFAULTS = (str, int, float, bool, type(None), enum.Enum)


def _hints(model: type[Any]) -> dict[str, Any]:
    hints: dict[str, Any] = {}
    for cls in reversed(model.__mro__):
        try:
            hints.update(typing.get_type_hints(cls))
        except Exception:  # noqa: S112 - unresolvable annotations fall back to column types
            continue
    return hints


def _column_type(column: Column[Any]) -> Any:
    return python_type(column.type)


def _field_type(key: str, column: Column[Any], hints: Mapping[str, Any]) -> Any:
    annotation = hints.get(key)
    if get_origin(annotation) is Mapped:
        annotation = get_args(annotation)[0]
    else:
        annotation = _column_type(column)
    args = get_args(annotation)
    base = next((a for a in args if a is not type(None)), annotation) if args else annotation
    length = getattr(column.type, "length", None)
    if base is str and isinstance(column.type, String) and length:
        base = Annotated[str, msgspec.Meta(max_length=length)]
        annotation = base | None if type(None) in args else base
    if column.nullable and type(None) not in get_args(annotation):
        annotation = annotation | None
    return annotation


def _columns(model: type[Any]) -> dict[str, Column[Any]]:
    mapper = sa_inspect(model)
    columns: dict[str, Column[Any]] = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if isinstance(column, Column):
            columns[prop.key] = column
    return columns


def _select(
    model: type[Any],
    include: Iterable[str] | None,
    exclude: Iterable[str],
    skip: Any = None,
) -> list[tuple[str, Column[Any]]]:
    columns = _columns(model)
    include = list(include) if include is not None else None
    unknown = [n for n in [*(include or ()), *exclude] if n not in columns]
    if unknown:
        raise ValueError(
            f"{model.__name__} has no column attribute {unknown[0]!r}; it has {', '.join(columns)}."
        )
    if include is not None:
        return [(key, columns[key]) for key in include if key not in set(exclude)]
    excluded = set(exclude)
    return [
        (key, column)
        for key, column in columns.items()
        if key not in excluded and not (skip and skip(column))
    ]


def _generated_key(column: Column[Any]) -> bool:
    if not column.primary_key:
        return False
    if column.server_default is not None or column.default is not None:
        return True
    if isinstance(column.identity, Identity) or column.autoincrement is True:
        return True
    table = column.table
    return (
        column.autoincrement == "auto"
        and isinstance(column.type, Integer)
        and len(table.primary_key.columns) == 1
    )


def _input_skip(column: Column[Any]) -> bool:
    return bool(column.info.get(next(iter(READ_ONLY)))) or _generated_key(column)


def _update_skip(column: Column[Any]) -> bool:
    return column.primary_key or _input_skip(column)


def _key(
    kind: str, model: type[Any], include: Any, exclude: Any, name: Any, extra: Any
) -> tuple[Any, ...]:
    return (
        kind,
        model,
        tuple(include) if include is not None else None,
        tuple(exclude),
        name,
        tuple(sorted((extra or {}).items(), key=lambda item: item[0])),
    )


def schema(
    model: type[Any],
    *,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> type[msgspec.Struct]:
    """An output Struct with the model's column attributes (``include`` only those, in
    that order; minus ``exclude``), plus ``extra`` fields (``{"cards": list[CardOut]}``).
    Fill one from an object with ``dump(obj, Schema)``. Named ``name`` (default: the
    model's name) in the OpenAPI document."""
    include = list(include) if include is not None else None
    exclude = tuple(exclude)
    key = _key("out", model, include, exclude, name, extra)
    if key not in _cache:
        hints = _hints(model)
        fields: list[Any] = [
            (attr, _field_type(attr, column, hints))
            for attr, column in _select(model, include, exclude)
        ]
        fields += list((extra or {}).items())
        _cache[key] = msgspec.defstruct(
            name or model.__name__, fields, module=model.__module__, kw_only=True
        )
    return _cache[key]


def create_schema(
    model: type[Any],
    *,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    name: str | None = None,
) -> type[msgspec.Struct]:
    """An input Struct for creating a row: generated primary keys and read-only columns
    are left out, fields the database can fill are optional. Unknown fields are refused
    (422). Turn one into an object with ``build(Model, data)``."""
    include = list(include) if include is not None else None
    exclude = tuple(exclude)
    key = _key("create", model, include, exclude, name, None)
    if key not in _cache:
        hints = _hints(model)
        fields: list[Any] = []
        for attr, column in _select(model, include, exclude, _input_skip):
            annotation = _field_type(attr, column, hints)
            default = column.default
            if (
                isinstance(default, ColumnDefault)
                and default.is_scalar
                and isinstance(default.arg, _SCALAR_DEFAULTS)
            ):
                fields.append((attr, annotation, default.arg))
            elif default is not None or column.server_default is not None:
                fields.append((attr, annotation | msgspec.UnsetType, msgspec.UNSET))
            elif column.nullable:
                fields.append((attr, annotation, None))
            else:
                fields.append((attr, annotation))
        _cache[key] = msgspec.defstruct(
            name or f"{model.__name__}Create",
            fields,
            module=model.__module__,
            kw_only=True,
            forbid_unknown_fields=True,
        )
    return _cache[key]


def update_schema(
    model: type[Any],
    *,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    name: str | None = None,
) -> type[msgspec.Struct]:
    """An input Struct for a partial update (PATCH): every field optional, and a field not
    sent stays ``msgspec.UNSET``, unlike one sent as ``null``. Primary keys and read-only
    columns are left out. Apply one with ``apply(obj, data)``."""
    include = list(include) if include is not None else None
    exclude = tuple(exclude)
    key = _key("update", model, include, exclude, name, None)
    if key not in _cache:
        hints = _hints(model)
        fields: list[Any] = [
            (attr, _field_type(attr, column, hints) | msgspec.UnsetType, msgspec.UNSET)
            for attr, column in _select(model, include, exclude, _update_skip)
        ]
        _cache[key] = msgspec.defstruct(
            name or f"{model.__name__}Update",
            fields,
            module=model.__module__,
            kw_only=True,
            forbid_unknown_fields=True,
        )
    return _cache[key]


def values(data: msgspec.Struct) -> dict[str, Any]:
    """The fields of ``data`` that were set (``UNSET`` ones left out), as a dict."""
    return {
        field: value
        for field in data.__struct_fields__
        if (value := getattr(data, field)) is not msgspec.UNSET
    }


def build(model: type[T], data: msgspec.Struct, **overrides: Any) -> T:
    """A new, not yet added ``model`` object from input ``data`` plus ``overrides``
    (e.g. ``owner_id=user.id``); unset fields keep their column defaults."""
    return model(**{**values(data), **overrides})


def apply(obj: Any, data: msgspec.Struct) -> set[str]:
    """Set the fields of ``data`` that were sent on ``obj``; returns the names that
    actually changed value."""
    loaded = sa_inspect(obj).dict  # compare without loading expired attributes
    changed = set()
    missing = object()
    for field, value in values(data).items():
        if loaded.get(field, missing) != value:
            changed.add(field)
        setattr(obj, field, value)
    return changed


def dump(obj: Any, schema: type[T]) -> T:
    """``obj`` (a model object, a row, or a list of them with ``list[Schema]``) as
    ``schema``, read attribute by attribute."""
    return msgspec.convert(obj, schema, from_attributes=True)


__all__ = ["apply", "build", "create_schema", "dump", "schema", "update_schema", "values"]
