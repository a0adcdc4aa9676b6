"""``ModelForm``: a form whose fields come from a model's columns, and which creates or
updates the row.

::

    class CardForm(ModelForm, model=Card, fields=["title", "points"]):
        title: Annotated[str, msgspec.Meta(max_length=200), Field(label="Card title")]

    @app.post("/boards/{board_id:int}/cards")
    async def add_card(request: Request, board_id: int, db: Session) -> Response:
        form = await CardForm.from_request(request)
        if not form.is_valid:
            return await render(request, "cards/new.html", {"form": form}, status_code=422)
        card = await form.save(db, board_id=board_id)
        return redirect(f"/cards/{card.id}")

    # editing: CardForm(instance=card) shows its values; from_request(request,
    # instance=card) validates the submission and form.save(db) updates the row.

The fields and their types are those of ``tidal.db.create_schema(model, include=fields,
exclude=exclude)``: generated keys and read-only columns are left out, nullable columns are
optional, ``String(n)`` gets a maximum length. An annotation on the form class replaces the
derived field of the same name (to add a ``Field`` or constraints); other annotated fields
are form-only (a "confirm password") and are not saved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

from tidal.forms.forms import Form
from tidal.forms.parsing import FormData

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


class ModelForm(Form):
    """Base class of forms bound to a model: ``class F(ModelForm, model=M, fields=[...])``.

    Args:
        data: the submitted values (see ``Form``).
        instance: the row being edited; ``None`` to create one.
        initial: values shown by an unbound form, over the instance's.
        context: anything validators need.
    """

    _abstract = True
    _compile_lazily = True  # models may still be configuring when the form class is made
    _model: ClassVar[type[Any] | None] = None
    _include: ClassVar[tuple[str, ...] | None] = None
    _exclude: ClassVar[tuple[str, ...]] = ()
    _model_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(
        cls,
        *,
        model: type[Any] | None = None,
        fields: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        if model is not None:
            cls._model = model
            cls._include = tuple(fields) if fields is not None else None
            cls._exclude = tuple(exclude)
        elif fields is not None or exclude:
            raise TypeError(f"{cls.__qualname__}: fields= and exclude= need model= as well.")
        if cls._model is None:
            cls._abstract = True
        super().__init_subclass__(**kwargs)

    @classmethod
    def _declared_fields(cls) -> dict[str, tuple[Any, Any]]:
        from tidal.db.schemas import create_schema

        assert cls._model is not None
        schema = create_schema(cls._model, include=cls._include, exclude=cls._exclude)
        derived: dict[str, tuple[Any, Any]] = {}
        for field in msgspec.structs.fields(schema):
            default = field.default
            if field.default_factory is not msgspec.NODEFAULT:
                default = field.default_factory()
            derived[field.name] = (field.type, default)
        cls._model_fields = tuple(derived)
        declared = super()._declared_fields()
        merged = {name: declared.pop(name, value) for name, value in derived.items()}
        merged.update(declared)
        return merged

    def __init__(
        self,
        data: FormData | Mapping[str, str | list[str]] | None = None,
        *,
        instance: Any = None,
        initial: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(data, initial=initial, context=context)
        self.instance = instance
        if instance is not None:
            from_instance = {
                name: getattr(instance, name)
                for name in self.specs
                if name in type(self)._model_fields
            }
            self.initial = {**from_instance, **self.initial}

    @property
    def model(self) -> type[Any]:
        model = type(self)._model
        assert model is not None
        return model

    def model_values(self) -> dict[str, Any]:
        """The validated values of the model's fields (those left unset omitted)."""
        return {
            name: value
            for name in type(self)._model_fields
            if name in self.cleaned and (value := self.cleaned[name]) is not msgspec.UNSET
        }

    async def save(self, db: AsyncSession, **overrides: Any) -> Any:
        """Create the row (or update ``instance``) from the validated values plus
        ``overrides`` (``owner_id=user.id``), flush it so it has its id, and return it.
        The handler's transaction commits it as usual.

        Raises:
            RuntimeError: the form is not valid.
        """
        if not self.is_valid:
            raise RuntimeError(
                f"{type(self).__qualname__}.save() needs a valid form; check form.is_valid "
                "and re-render the form with its errors otherwise."
            )
        values = {**self.model_values(), **overrides}
        if self.instance is None:
            obj = self.model(**values)
            db.add(obj)
        else:
            obj = self.instance
            for name, value in values.items():
                setattr(obj, name, value)
        await db.flush()
        self.instance = obj
        return obj


__all__ = ["ModelForm"]
