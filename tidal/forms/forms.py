"""``Form``: an HTML form declared as a typed class, validated with msgspec.

::

    class SignupForm(Form):
        email: Annotated[str, Field(widget="email")]
        password: Annotated[str, msgspec.Meta(min_length=12), Field(widget="password")]
        plan: Literal["free", "team"] = "free"

        @validator("email")
        def lower(self, value: str) -> str:
            if "@" not in value:
                raise ValueError("Enter an email address.")
            return value.lower()

    @app.post("/signup")
    async def signup(request: Request, form: Submitted[SignupForm]) -> Response:
        if not form.is_valid:
            return await render(request, "signup.html", {"form": form}, status_code=422)
        ...  # form.email is a str, form.plan "free" or "team"
        return redirect("/welcome")

A bound form keeps what was submitted, so re-rendering it shows the user's input with an
error under each invalid field; ``{{ form }}`` renders every field and the CSRF token.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import typing
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from markupsafe import Markup

from tidal.forms.fields import NOTHING, FieldSpec, Invalid, compile_field
from tidal.forms.parsing import FormData, FormLimits, parse_form
from tidal.forms.widgets import BoundField
from tidal.http.params import Depends
from tidal.http.requests import Request

if TYPE_CHECKING:
    from typing import Self

    from starlette.requests import HTTPConnection

F = TypeVar("F", bound=Callable[..., Any])
FormT = TypeVar("FormT", bound="Form")
_VALIDATES = "__tidal_validates__"
CSRF_FIELD = "csrf_token"
# Attributes every form instance has (set in __init__), which fields must not shadow.
_INSTANCE_NAMES = frozenset(
    {
        "cleaned",
        "context",
        "data",
        "errors",
        "form_errors",
        "initial",
        "instance",
        "request",
        "specs",
        "validated",
    }
)


def validator(*fields: str) -> Callable[[F], F]:
    """Mark a method as a validator of ``fields``: called as ``method(self, value)`` (or
    awaited, when ``async``) after the value was converted and passed its type's
    constraints. Raise ``ValueError("message")`` to reject the value; return a value to
    replace it (``None`` keeps it)."""
    if not fields:
        raise TypeError("@validator needs the name of at least one field.")

    def mark(function: F) -> F:
        setattr(function, _VALIDATES, fields)
        return function

    return mark


def _defining_namespace() -> dict[str, Any]:
    """The local names where the form class statement runs (a function's body, for
    classes declared in one), so their annotations can name local types."""
    frame = sys._getframe(2)
    while frame.f_back is not None and frame.f_code.co_name == "__init_subclass__":
        frame = frame.f_back
    return dict(frame.f_locals)


class Form:
    """Base class of forms; each annotated attribute is a field (see ``tidal.forms.fields``).

    Args:
        data: the submitted values (a ``FormData`` or ``{"name": "value"}``); ``None``
            makes an unbound form, to show an empty (or ``initial``) form.
        initial: values shown by an unbound form, by field name.
        context: anything validators need (``self.context["db"]``).

    After ``await form.validate()`` (done by ``from_request`` and ``Submitted``), each valid
    field's value is an attribute of the form (``form.email``), all of them are in
    ``form.cleaned``, and ``form.errors`` maps field names to messages.
    """

    _fields: ClassVar[dict[str, FieldSpec]] = {}
    _validators: ClassVar[dict[str, list[Callable[..., Any]]]] = {}
    _namespace: ClassVar[dict[str, Any]] = {}
    _compiled: ClassVar[bool] = False
    _abstract: ClassVar[bool] = True
    _compile_lazily: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._abstract = bool(cls.__dict__.get("_abstract", False))
        cls._namespace = _defining_namespace()
        cls._compiled = False
        if cls._abstract or cls._compile_lazily:
            return
        # An annotation naming a type defined later in the module: compile on first use.
        with contextlib.suppress(NameError):
            cls._compile()

    # -- declaring -----------------------------------------------------------------------

    @classmethod
    def _declared_fields(cls) -> dict[str, tuple[Any, Any]]:
        """``{name: (annotation, default)}`` of the fields, in declaration order."""
        # Each class's annotations resolve in its own module, plus the names local to
        # where the form class was declared.
        hints = typing.get_type_hints(cls, localns=cls._namespace, include_extras=True)
        declared: dict[str, tuple[Any, Any]] = {}
        for name, annotation in hints.items():
            if name.startswith("_") or typing.get_origin(annotation) is ClassVar:
                continue
            declared[name] = (annotation, getattr(cls, name, NOTHING))
        return declared

    @classmethod
    def _compile(cls) -> None:
        owner = cls.__qualname__
        reserved = {name for name in dir(Form) if not name.startswith("_")} | _INSTANCE_NAMES
        fields: dict[str, FieldSpec] = {}
        for name, (annotation, default) in cls._declared_fields().items():
            if name in reserved:
                raise TypeError(
                    f"{owner}.{name}: the name clashes with Form.{name}. Rename the attribute "
                    f"and keep the HTML name with Field(alias={name!r})."
                )
            if name == CSRF_FIELD:
                raise TypeError(f"{owner}.{name}: {CSRF_FIELD!r} is the CSRF token's field.")
            fields[name] = compile_field(owner, name, annotation, default)
        validators: dict[str, list[Callable[..., Any]]] = {name: [] for name in fields}
        for klass in reversed(cls.__mro__):
            for attribute in vars(klass).values():
                names = getattr(attribute, _VALIDATES, None)
                if names is None:
                    continue
                for name in names:
                    if name not in fields:
                        raise TypeError(
                            f"{owner}: @validator({name!r}) names no field; the fields are "
                            f"{', '.join(fields) or 'none'}."
                        )
                    validators[name].append(attribute)
        cls._fields = fields
        cls._validators = validators
        cls._compiled = True

    @classmethod
    def fields(cls) -> dict[str, FieldSpec]:
        """The compiled fields, by attribute name."""
        if cls._abstract:
            raise TypeError(f"{cls.__qualname__} is a base class; declare a form subclassing it.")
        if not cls._compiled:
            cls._compile()
        return cls._fields

    # -- instances -----------------------------------------------------------------------

    def __init__(
        self,
        data: FormData | Mapping[str, str | list[str]] | None = None,
        *,
        initial: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        self.specs = type(self).fields()
        if data is not None and not isinstance(data, FormData):
            data = FormData.from_mapping(data)
        self.data: FormData | None = data
        self.initial: dict[str, Any] = dict(initial or {})
        self.context: dict[str, Any] = dict(context or {})
        self.request: HTTPConnection | None = None
        self.errors: dict[str, list[str]] = {}
        self.form_errors: list[str] = []
        self.cleaned: dict[str, Any] = {}
        self.validated = False

    @classmethod
    async def from_request(
        cls,
        request: HTTPConnection,
        *,
        limits: FormLimits | None = None,
        **options: Any,
    ) -> Self:
        """Parse the request's form (its body, or the query string of a GET) and validate
        it. ``options`` go to the constructor (``initial``, ``context``, ``instance``).

        Raises:
            PayloadTooLarge: an upload or the body is over its limit (413).
            UnsupportedMediaType, BadRequest: the body is not a well-formed form.
        """
        data = await parse_form(request, limits)
        form = cls(data, **options)
        form.request = request
        try:
            await form.validate()
        except BaseException:
            await data.close()
            raise
        return form

    @classmethod
    async def submitted(cls, request: Request) -> AsyncIterator[Self]:
        """The provider behind ``Submitted[FormClass]``: the validated form of the request,
        and its unsaved uploads deleted once the handler returns."""
        form = await cls.from_request(request)
        try:
            yield form
        finally:
            await form.close()

    @property
    def is_bound(self) -> bool:
        return self.data is not None

    @property
    def is_valid(self) -> bool:
        """Bound, validated, and without errors."""
        return self.is_bound and self.validated and not self.errors and not self.form_errors

    @property
    def has_files(self) -> bool:
        return any(spec.is_file for spec in self.specs.values())

    @property
    def enctype(self) -> str:
        """The ``<form enctype>`` it needs: multipart when it has a file field."""
        return "multipart/form-data" if self.has_files else "application/x-www-form-urlencoded"

    def initial_value(self, spec: FieldSpec) -> Any:
        if spec.name in self.initial:
            return self.initial[spec.name]
        return spec.default

    def add_error(self, field: str | None, message: str) -> None:
        """Record an error on ``field`` (``None``: on the whole form); the form is then
        invalid. For checks the handler makes after validation (a taken user name)."""
        if field is None:
            self.form_errors.append(message)
            return
        if field not in self.specs:
            raise KeyError(f"{type(self).__qualname__} has no field {field!r}.")
        self.errors.setdefault(field, []).append(message)
        self.cleaned.pop(field, None)

    async def validate(self) -> bool:
        """Convert and validate every field, then run ``clean``; returns ``is_valid``.
        An unbound form is not valid and gets no errors."""
        if self.data is None:
            return False
        self.errors = {}
        self.form_errors = []
        cleaned: dict[str, Any] = {}
        validators = type(self)._validators
        for name, spec in self.specs.items():
            try:
                value = spec.convert(self.data)
                for function in validators.get(name, ()):
                    result = function(self, value)
                    if inspect.isawaitable(result):
                        result = await result
                    if result is not None:
                        value = result
            except (Invalid, ValueError) as exc:
                self.errors.setdefault(name, []).append(str(exc))
                continue
            cleaned[name] = value
        self.cleaned = cleaned
        for name, value in cleaned.items():
            setattr(self, name, value)
        if not self.errors:
            await self.clean()
        self.validated = True
        return self.is_valid

    async def clean(self) -> None:
        """Override for checks across fields (run once every field is valid); report
        problems with ``self.add_error``."""

    async def close(self) -> None:
        """Delete uploaded files the handler did not save."""
        if self.data is not None:
            await self.data.close()

    # -- rendering -----------------------------------------------------------------------

    def __getitem__(self, name: str) -> BoundField:
        for spec in self.specs.values():
            if spec.name == name or spec.html_name == name:
                return BoundField(self, spec)
        raise KeyError(f"{type(self).__qualname__} has no field {name!r}.")

    def __iter__(self) -> Iterator[BoundField]:
        for spec in self.specs.values():
            yield BoundField(self, spec)

    def csrf_input(self) -> Markup:
        """The hidden CSRF field, when the form is rendered by ``render()`` in an
        application with sessions (empty otherwise)."""
        from tidal.templates.context import csrf_input_html, current_csrf_token

        return csrf_input_html(current_csrf_token())

    def errors_html(self) -> Markup:
        if not self.form_errors:
            return Markup("")
        items = Markup("").join(Markup("<li>{}</li>").format(text) for text in self.form_errors)
        return Markup('<ul class="errors form-errors">{}</ul>').format(items)

    def __html__(self) -> str:
        """The CSRF field, the form-wide errors and every field, in order."""
        rows = Markup("").join(self)  # each BoundField escapes itself via __html__
        return str(self.csrf_input() + self.errors_html() + rows)

    def __repr__(self) -> str:
        state = "unbound" if not self.is_bound else ("valid" if self.is_valid else "invalid")
        return f"<{type(self).__qualname__} {state}>"


if TYPE_CHECKING:
    Submitted = typing.Annotated[FormT, "a validated form of the request"]
else:

    class Submitted:
        """``form: Submitted[SignupForm]`` in a handler: the request's form, parsed and
        validated (check ``form.is_valid``), with unsaved uploads deleted afterwards.
        Equivalent to ``Annotated[SignupForm, Depends(SignupForm.submitted)]``."""

        def __class_getitem__(cls, form_class: type[Form]) -> Any:
            if not (isinstance(form_class, type) and issubclass(form_class, Form)):
                raise TypeError(f"Submitted[...] takes a Form class, not {form_class!r}.")
            return typing.Annotated[form_class, Depends(form_class.submitted)]


__all__ = ["CSRF_FIELD", "Form", "Submitted", "validator"]
