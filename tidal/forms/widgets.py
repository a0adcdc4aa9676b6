"""HTML for form fields: ``BoundField`` is one field of one form instance, with the value
to show (what was submitted, or the initial value), its errors, and its markup.

Everything interpolated is escaped; the markup is plain, accessible HTML (labels tied to
inputs, ``aria-invalid`` and ``aria-describedby`` on fields with errors) with a few class
names to style: ``field``, ``field has-error``, ``help``, ``errors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from tidal.forms.fields import FieldSpec

if TYPE_CHECKING:
    from tidal.forms.forms import Form

_TEXT_INPUTS = frozenset(
    {
        "color",
        "date",
        "datetime-local",
        "email",
        "number",
        "password",
        "range",
        "search",
        "tel",
        "text",
        "time",
        "url",
    }
)


def html_attrs(attrs: Mapping[str, Any]) -> Markup:
    """`` name="value"`` pairs; ``True`` writes a bare attribute, ``False``/``None`` none."""
    parts = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(Markup(" {}").format(key))
        else:
            parts.append(Markup(' {}="{}"').format(key, value))
    return Markup("").join(parts)


class BoundField:
    """A field of a form instance, as a template uses it: ``{{ form["title"] }}`` renders
    the whole row; ``.label_tag()``, ``.widget()``, ``.errors``, ``.help`` and ``.value``
    let a template lay it out by hand."""

    __slots__ = ("form", "spec")

    def __init__(self, form: Form, spec: FieldSpec) -> None:
        self.form = form
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.html_name

    @property
    def id(self) -> str:
        return f"id_{self.spec.html_name}"

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def help(self) -> str:
        return self.spec.help

    @property
    def errors(self) -> list[str]:
        return self.form.errors.get(self.spec.name, [])

    @property
    def values(self) -> list[str]:
        """The strings the input shows: what was submitted when the form is bound (so a
        re-rendered form keeps the user's input, valid or not), else the initial value.
        Passwords and files are never sent back."""
        spec = self.spec
        if spec.widget in ("password", "file"):
            return []
        data = self.form.data
        if data is not None:
            submitted = data.getlist(spec.html_name)
            if spec.base is bool and not spec.many:
                return submitted[-1:] if submitted else []
            return submitted
        return spec.display(self.form.initial_value(spec))

    @property
    def value(self) -> str:
        values = self.values
        return values[-1] if values else ""

    def label_tag(self) -> Markup:
        return Markup('<label for="{}">{}</label>').format(self.id, self.label)

    def _described_by(self) -> str | None:
        ids = []
        if self.help:
            ids.append(f"{self.id}_help")
        if self.errors:
            ids.append(f"{self.id}_errors")
        return " ".join(ids) or None

    def widget(self, **attrs: Any) -> Markup:
        """The input element(s); keyword arguments add HTML attributes
        (``class_="wide"`` for ``class``)."""
        spec = self.spec
        common: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "aria-invalid": "true" if self.errors else None,
            "aria-describedby": self._described_by(),
        }
        extra = {key.rstrip("_").replace("_", "-"): value for key, value in attrs.items()}
        kind = spec.widget
        if kind in ("select", "radio", "checkboxes"):
            return self._choices(kind, common, extra)
        common["required"] = spec.required and kind != "checkbox"
        common.update(self._constraint_attrs())
        if spec.placeholder is not None:
            common["placeholder"] = spec.placeholder
        common.update(spec.attrs)
        common.update(extra)
        if kind == "textarea":
            return Markup("<textarea{}>{}</textarea>").format(html_attrs(common), self.value)
        if kind == "checkbox":
            checked = bool(self.values) and self.value.strip().lower() not in (
                "",
                "0",
                "off",
                "false",
                "no",
            )
            attrs_ = {"type": "checkbox", **common, "value": "on", "checked": checked}
            return Markup("<input{}>").format(html_attrs(attrs_))
        if kind == "file":
            attrs_ = {"type": "file", **common, "multiple": spec.many}
            return Markup("<input{}>").format(html_attrs(attrs_))
        if kind == "hidden":
            return Markup("").join(
                Markup("<input{}>").format(html_attrs({"type": "hidden", **common, "value": value}))
                for value in (self.values or [""])
            )
        input_type = kind if kind in _TEXT_INPUTS else "text"
        if spec.many:  # one input per value, and an empty one to add another
            inputs = [{**common, "id": None, "type": input_type, "value": v} for v in self.values]
            inputs.append({"type": input_type, **common, "required": not inputs and spec.required})
            return Markup("").join(Markup("<input{}>").format(html_attrs(a)) for a in inputs)
        attrs_ = {"type": input_type, **common, "value": self.value if self.values else None}
        return Markup("<input{}>").format(html_attrs(attrs_))

    def _constraint_attrs(self) -> dict[str, Any]:
        spec = self.spec
        found = spec.constraints
        attrs: dict[str, Any] = {}
        if spec.widget in ("number", "range", "date", "datetime-local", "time"):
            attrs["min"] = found.get("ge")
            attrs["max"] = found.get("le")
            if spec.widget == "number":
                attrs["step"] = found.get("multiple_of") or (1 if spec.base is int else "any")
        elif not spec.many:
            attrs["minlength"] = found.get("min_length")
            attrs["maxlength"] = found.get("max_length")
        return attrs

    def _choices(self, kind: str, common: dict[str, Any], extra: dict[str, Any]) -> Markup:
        spec = self.spec
        selected = set(self.values)
        if kind == "select":
            attrs = {
                **common,
                "multiple": spec.many,
                "required": spec.required,
                **spec.attrs,
                **extra,
            }
            options = []
            if spec.optional and not spec.many:
                options.append(Markup('<option value="">---------</option>'))
            for value, label in spec.choices:
                option = {"value": value, "selected": value in selected}
                options.append(Markup("<option{}>{}</option>").format(html_attrs(option), label))
            return Markup("<select{}>{}</select>").format(
                html_attrs(attrs), Markup("").join(options)
            )
        input_type = "radio" if kind == "radio" else "checkbox"
        items = []
        for index, (value, label) in enumerate(spec.choices):
            attrs = {
                "type": input_type,
                "name": self.name,
                "id": f"{self.id}_{index}",
                "value": value,
                "checked": value in selected,
                "required": spec.required and input_type == "radio",
                **spec.attrs,
                **extra,
            }
            items.append(Markup("<label><input{}> {}</label>").format(html_attrs(attrs), label))
        group = {
            "id": self.id,
            "role": "group" if input_type == "checkbox" else "radiogroup",
            "aria-describedby": common["aria-describedby"],
        }
        return Markup("<div{}>{}</div>").format(html_attrs(group), Markup("").join(items))

    def errors_html(self) -> Markup:
        if not self.errors:
            return Markup("")
        items = Markup("").join(Markup("<li>{}</li>").format(message) for message in self.errors)
        return Markup('<ul class="errors" id="{}_errors">{}</ul>').format(self.id, items)

    def help_html(self) -> Markup:
        if not self.help:
            return Markup("")
        return Markup('<small class="help" id="{}_help">{}</small>').format(self.id, self.help)

    def __html__(self) -> str:
        spec = self.spec
        if spec.widget == "hidden":
            return str(self.widget())
        classes = "field has-error" if self.errors else "field"
        if spec.widget == "checkbox":
            head = Markup("<label>{} {}</label>").format(self.widget(), self.label)
        elif spec.widget in ("radio", "checkboxes"):
            head = Markup('<span class="label">{}</span>{}').format(self.label, self.widget())
        else:
            head = self.label_tag() + self.widget()
        return str(
            Markup('<div class="{}">{}{}{}</div>').format(
                classes, head, self.help_html(), self.errors_html()
            )
        )

    def __str__(self) -> str:
        return self.__html__()

    def __repr__(self) -> str:
        return f"<BoundField {self.spec.name}>"


__all__ = ["BoundField", "html_attrs"]
