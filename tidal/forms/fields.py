"""Form fields: what a form class's annotations compile to, and how submitted strings become
typed values.

A form field is an annotated attribute of a ``Form`` class. The type says how the text a
browser sends is converted (``int``, ``Decimal``, ``date``, an ``Enum`` or ``Literal`` of
choices, ``bool`` for a checkbox, ``UploadedFile``, ``list[...]`` for several values);
``msgspec.Meta`` constraints validate it; ``Field(...)`` adds what only the page needs
(label, help text, widget)::

    class CardForm(Form):
        title: Annotated[str, msgspec.Meta(max_length=200), Field(label="Title")]
        points: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
        due: date | None = None
        column: Literal["todo", "doing", "done"] = "todo"
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import re
import types
import typing
import uuid
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin

import msgspec

from tidal.forms.uploads import UploadedFile

if typing.TYPE_CHECKING:
    from tidal.forms.parsing import FormData

NOTHING: Any = msgspec.NODEFAULT
WIDGETS = frozenset(
    {
        "checkbox",
        "checkboxes",
        "color",
        "date",
        "datetime-local",
        "email",
        "file",
        "hidden",
        "number",
        "password",
        "radio",
        "range",
        "search",
        "select",
        "tel",
        "text",
        "textarea",
        "time",
        "url",
    }
)
_TEXT_TYPES = (str, int, float, decimal.Decimal, uuid.UUID)
_TYPE_MESSAGES: dict[Any, str] = {
    int: "Enter a whole number.",
    float: "Enter a number.",
    decimal.Decimal: "Enter a number.",
    datetime.date: "Enter a valid date.",
    datetime.datetime: "Enter a valid date and time.",
    datetime.time: "Enter a valid time.",
    uuid.UUID: "Enter a valid UUID.",
}
REQUIRED = "This field is required."
_FALSE = frozenset({"", "0", "off", "false", "no"})


class Field:
    """What a page shows for a field, beyond its type: ``Annotated[str, Field(...)]``.

    Args:
        label: the label text; default: the name with ``_`` as spaces, capitalised.
        help: a sentence shown under the input.
        widget: ``text``, ``textarea``, ``email``, ``password``, ``select``, ``radio``,
            ``checkboxes``, ``hidden``, ... (default from the type).
        placeholder: the input's placeholder.
        attrs: more HTML attributes for the input (``{"autocomplete": "email"}``).
        choices: labels for the values of a ``Literal``/``Enum`` field, by value.
        strip: remove surrounding whitespace from text (default: yes, except passwords).
        alias: the name in the HTML form and the submitted data, when it differs.
    """

    __slots__ = ("alias", "attrs", "choices", "help", "label", "placeholder", "strip", "widget")

    def __init__(
        self,
        *,
        label: str | None = None,
        help: str = "",
        widget: str | None = None,
        placeholder: str | None = None,
        attrs: Mapping[str, str | bool] | None = None,
        choices: Mapping[Any, str] | None = None,
        strip: bool | None = None,
        alias: str | None = None,
    ) -> None:
        if widget is not None and widget not in WIDGETS:
            raise ValueError(f"Unknown widget {widget!r}; use one of {', '.join(sorted(WIDGETS))}.")
        self.label = label
        self.help = help
        self.widget = widget
        self.placeholder = placeholder
        self.attrs = dict(attrs or {})
        self.choices = dict(choices or {})
        self.strip = strip
        self.alias = alias

    def __repr__(self) -> str:
        return f"Field(label={self.label!r}, widget={self.widget!r})"


class Invalid(Exception):
    """A submitted value that does not fit its field; the message is for the user."""


def _unwrap(annotation: Any) -> tuple[Any, list[Any], list[Field]]:
    """``(type, msgspec metadata, Field markers)`` of ``Annotated[...]``."""
    if get_origin(annotation) is typing.Annotated:
        base, *extras = get_args(annotation)
        fields = [e for e in extras if isinstance(e, Field)]
        others = [e for e in extras if not isinstance(e, Field)]
        return base, others, fields
    return annotation, [], []


def _annotated(base: Any, metadata: list[Any]) -> Any:
    return typing.Annotated[(base, *metadata)] if metadata else base


@dataclasses.dataclass(eq=False)
class FieldSpec:
    """One compiled form field."""

    name: str
    html_name: str
    value_type: Any  # what msgspec validates: the type with its constraints, without None
    base: Any  # the bare type of one value (the item type of a list)
    many: bool
    optional: bool
    default: Any
    label: str
    help: str
    widget: str
    placeholder: str | None
    attrs: dict[str, str | bool]
    strip: bool
    choices: list[tuple[str, str]]
    constraints: dict[str, Any]

    @property
    def is_file(self) -> bool:
        return self.base is UploadedFile

    @property
    def required(self) -> bool:
        """Whether leaving it empty is an error (not for checkboxes: unticked is false)."""
        return self.default is NOTHING and not self.optional and self.base is not bool

    # -- converting submitted values -----------------------------------------------------

    def missing(self) -> Any:
        if self.default is not NOTHING:
            default = self.default
            return list(default) if isinstance(default, list) else default
        if self.optional:
            return None
        if self.base is bool:
            return [] if self.many else False
        raise Invalid(REQUIRED)

    def convert(self, data: FormData) -> Any:
        """The typed value of this field in ``data``; raises ``Invalid``."""
        if self.is_file:
            files = data.files.get(self.html_name, [])
            if not files:
                return self.missing()
            value: Any = list(files) if self.many else files[-1]
            return self._check(value) if self.many else value
        raw = data.getlist(self.html_name)
        if self.base is bool and not self.many:
            if not raw:
                return self.missing() if self.default is not NOTHING else False
            return raw[-1].strip().lower() not in _FALSE
        texts = [text.strip() if self.strip else text for text in raw]
        texts = [text for text in texts if text != ""]
        if not texts:
            return self.missing()
        if self.many:
            return self._check([self._parse(text) for text in texts])
        return self._check(self._parse(texts[-1]))

    def _parse(self, text: str) -> Any:
        base = self.base
        if base is str:
            return text
        if base in (datetime.date, datetime.datetime, datetime.time):
            try:
                return base.fromisoformat(text)
            except ValueError:
                raise Invalid(_TYPE_MESSAGES[base]) from None
        try:
            return msgspec.convert(text, base, strict=False)
        except msgspec.ValidationError:
            if self.choices:
                raise Invalid(
                    f"Select a valid choice; {text!r} is not one of the choices."
                ) from None
            raise Invalid(_TYPE_MESSAGES.get(base, f"Enter a valid {_type_name(base)}.")) from None

    def _check(self, value: Any) -> Any:
        """Apply the ``msgspec.Meta`` constraints."""
        if not self.constraints and not self.many:
            return value
        try:
            return msgspec.convert(value, self.value_type, strict=False)
        except msgspec.ValidationError as exc:
            raise Invalid(humanize(str(exc))) from None

    # -- showing values ------------------------------------------------------------------

    def display(self, value: Any) -> list[str]:
        """``value`` as the strings an input shows (a list: several for multiple values)."""
        if value is None or value is NOTHING or value is msgspec.UNSET:
            return []
        if isinstance(value, (list, tuple, set, frozenset)):
            return [text for item in value for text in self.display(item)]
        if isinstance(value, UploadedFile):
            return []
        if isinstance(value, bool):
            return ["on"] if value else []
        if isinstance(value, enum.Enum):
            return [str(value.value)]
        if isinstance(value, datetime.datetime):
            pattern = "%Y-%m-%dT%H:%M:%S" if value.second else "%Y-%m-%dT%H:%M"
            return [value.strftime(pattern)]
        if isinstance(value, datetime.time):
            return [value.strftime("%H:%M:%S" if value.second else "%H:%M")]
        if isinstance(value, datetime.date):
            return [value.isoformat()]
        return [str(value)]


def _type_name(base: Any) -> str:
    return str(getattr(base, "__name__", base))


_MESSAGES = (
    (re.compile(r"Expected `str` of length >= (\d+)"), "Enter at least {0} characters."),
    (re.compile(r"Expected `str` of length <= (\d+)"), "Enter at most {0} characters."),
    (re.compile(r"Expected `array` of length >= (\d+)"), "Choose at least {0}."),
    (re.compile(r"Expected `array` of length <= (\d+)"), "Choose at most {0}."),
    (re.compile(r"Expected `\w+` >= (\S+)"), "Enter a value of at least {0}."),
    (re.compile(r"Expected `\w+` > (\S+)"), "Enter a value greater than {0}."),
    (re.compile(r"Expected `\w+` <= (\S+)"), "Enter a value of at most {0}."),
    (re.compile(r"Expected `\w+` < (\S+)"), "Enter a value less than {0}."),
    (re.compile(r"Expected `\w+` that's a multiple of (\S+)"), "Enter a multiple of {0}."),
    (re.compile(r"matching regex"), "Enter a valid value."),
)


def humanize(message: str) -> str:
    """A msgspec constraint error ("Expected `int` >= 13") as a sentence for a form."""
    message = message.split(" - at `", 1)[0]
    for pattern, text in _MESSAGES:
        found = pattern.search(message)
        if found:
            return text.format(*found.groups())
    return message


def _choices(base: Any, labels: Mapping[Any, str]) -> list[tuple[str, str]]:
    if get_origin(base) is Literal:
        values = list(get_args(base))
        return [(str(v), labels.get(v, str(v))) for v in values]
    if isinstance(base, type) and issubclass(base, enum.Enum):
        choices = []
        for member in base:
            label = labels.get(member) or labels.get(member.value) or getattr(member, "label", "")
            choices.append(
                (str(member.value), str(label or member.name.replace("_", " ").capitalize()))
            )
        return choices
    return []


def _constraint_values(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for meta in metadata:
        if isinstance(meta, msgspec.Meta):
            for key in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern"):
                value = getattr(meta, key, None)
                if value is not None:
                    found[key] = value
            if meta.multiple_of is not None:
                found["multiple_of"] = meta.multiple_of
    return found


def _default_widget(base: Any, many: bool, choices: list[tuple[str, str]]) -> str:
    if base is UploadedFile:
        return "file"
    if choices:
        return "checkboxes" if many else "select"
    if base is bool:
        return "checkbox"
    if base in (int, float, decimal.Decimal):
        return "number"
    if base is datetime.datetime:
        return "datetime-local"
    if base is datetime.date:
        return "date"
    if base is datetime.time:
        return "time"
    return "text"


def _supported(base: Any) -> bool:
    if base in (*_TEXT_TYPES, bool, datetime.date, datetime.datetime, datetime.time):
        return True
    if base is UploadedFile or get_origin(base) is Literal:
        return True
    return isinstance(base, type) and issubclass(base, enum.Enum)


def compile_field(owner: str, name: str, annotation: Any, default: Any) -> FieldSpec:
    """Compile the field ``name: annotation = default`` of form class ``owner``.

    Raises:
        TypeError: the type is not one a form field can have, naming the field.
    """
    base, metadata, markers = _unwrap(annotation)
    optional = False
    if get_origin(base) in (typing.Union, types.UnionType):
        args = [a for a in get_args(base) if a is not msgspec.UnsetType]
        if type(None) in args:
            optional = True
            args = [a for a in args if a is not type(None)]
        if len(args) != 1:
            raise TypeError(
                f"{owner}.{name}: a form field has one type (optionally `| None`), not "
                f"{annotation!r}."
            )
        inner, more_metadata, more_markers = _unwrap(args[0])
        base, metadata, markers = inner, [*metadata, *more_metadata], [*markers, *more_markers]
    many = get_origin(base) in (list, set, frozenset, tuple) or base in (list, set)
    item_metadata: list[Any] = []
    value_type = _annotated(base, metadata)
    if many:
        item = (get_args(base) or (str,))[0]
        item, item_metadata, item_markers = _unwrap(item)
        markers = [*markers, *item_markers]
        value_type = _annotated(list[_annotated(item, item_metadata)], metadata)  # type: ignore[misc]
        base = item
    if not _supported(base):
        raise TypeError(
            f"{owner}.{name}: {annotation!r} cannot come from an HTML form. Use str, int, "
            "float, Decimal, bool, date, datetime, time, UUID, an Enum or Literal of choices, "
            "UploadedFile, or a list of one of them."
        )
    marker = markers[-1] if markers else Field()
    choices = _choices(base, marker.choices)
    widget = marker.widget or _default_widget(base, many, choices)
    if default is msgspec.UNSET:
        optional = True
    return FieldSpec(
        name=name,
        html_name=marker.alias or name,
        value_type=value_type,
        base=base,
        many=many,
        optional=optional,
        default=default,
        label=marker.label or name.replace("_", " ").capitalize(),
        help=marker.help,
        widget=widget,
        placeholder=marker.placeholder,
        attrs=marker.attrs,
        strip=marker.strip if marker.strip is not None else widget != "password",
        choices=choices,
        constraints={**_constraint_values(item_metadata), **_constraint_values(metadata)},
    )


__all__ = [
    "NOTHING",
    "REQUIRED",
    "WIDGETS",
    "Field",
    "FieldSpec",
    "Invalid",
    "compile_field",
    "humanize",
]
