"""Form fields: types from annotations, conversion of submitted text, messages for users."""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from typing import Annotated, Any, Literal

import msgspec
import pytest

from tidal.forms import Field, Form, FormData, validator
from tidal.forms.fields import REQUIRED, Invalid, compile_field, humanize


class Size(enum.Enum):
    SMALL = "s"
    EXTRA_LARGE = "xl"


def field(annotation: Any, default: Any = msgspec.NODEFAULT, **data: str | list[str]) -> Any:
    spec = compile_field("F", "x", annotation, default)
    return spec.convert(FormData.from_mapping(data))


@pytest.mark.parametrize(
    ("annotation", "text", "expected"),
    [
        (str, "  Ada  ", "Ada"),
        (int, " 42 ", 42),
        (float, "1.5", 1.5),
        (decimal.Decimal, "19.90", decimal.Decimal("19.90")),
        (datetime.date, "2025-03-07", datetime.date(2025, 3, 7)),
        (datetime.datetime, "2025-03-07T14:05", datetime.datetime(2025, 3, 7, 14, 5)),
        (datetime.time, "14:05", datetime.time(14, 5)),
        (
            uuid.UUID,
            "12345678-1234-5678-1234-567812345678",
            uuid.UUID(int=0x12345678123456781234567812345678),
        ),
        (Size, "xl", Size.EXTRA_LARGE),
        (Literal["free", "pro"], "pro", "pro"),
        (Literal[1, 2], "2", 2),
    ],
)
def test_converts_submitted_text(annotation: Any, text: str, expected: Any) -> None:
    assert field(annotation, x=text) == expected


@pytest.mark.parametrize(
    ("annotation", "text", "message"),
    [
        (int, "many", "Enter a whole number."),
        (float, "x", "Enter a number."),
        (datetime.date, "07/03/2025", "Enter a valid date."),
        (datetime.datetime, "soon", "Enter a valid date and time."),
        (Size, "m", "Select a valid choice; 'm' is not one of the choices."),
        (Annotated[int, msgspec.Meta(ge=13)], "12", "Enter a value of at least 13."),
        (Annotated[int, msgspec.Meta(lt=10)], "10", "Enter a value of at most 9."),
        (Annotated[float, msgspec.Meta(lt=10)], "10", "Enter a value less than 10.0."),
        (Annotated[str, msgspec.Meta(min_length=8)], "short", "Enter at least 8 characters."),
        (Annotated[str, msgspec.Meta(max_length=3)], "long", "Enter at most 3 characters."),
        (Annotated[str, msgspec.Meta(pattern="^[a-z]+$")], "A1", "Enter a valid value."),
    ],
)
def test_invalid_text_gets_a_sentence(annotation: Any, text: str, message: str) -> None:
    with pytest.raises(Invalid) as caught:
        field(annotation, x=text)
    assert str(caught.value) == message


def test_empty_values() -> None:
    with pytest.raises(Invalid, match=REQUIRED):
        field(str, x="   ")
    with pytest.raises(Invalid, match=REQUIRED):
        field(int)
    assert field(int | None, x="") is None
    assert field(int, 5, x="") == 5
    assert field(str, "", x="") == ""


def test_checkboxes_are_false_when_absent() -> None:
    assert field(bool) is False
    assert field(bool, x="on") is True
    assert field(bool, x="false") is False
    assert field(bool, True, x="off") is False


def test_lists_take_every_value() -> None:
    assert field(list[int], x=["1", "2", ""]) == [1, 2]
    assert field(list[Size], [], x=["s", "xl"]) == [Size.SMALL, Size.EXTRA_LARGE]
    assert field(list[str], []) == []
    with pytest.raises(Invalid, match=r"Choose at least 2\."):
        field(Annotated[list[str], msgspec.Meta(min_length=2)], x=["a"])


def test_passwords_keep_their_spaces() -> None:
    assert field(Annotated[str, Field(widget="password")], x=" pw ") == " pw "
    assert field(Annotated[str, Field(strip=False)], x=" a ") == " a "


def test_alias_is_the_html_name() -> None:
    spec = compile_field("F", "css_class", Annotated[str, Field(alias="class")], "")
    assert spec.html_name == "class"
    assert spec.convert(FormData.from_mapping({"class": "wide"})) == "wide"


def test_field_metadata_and_defaults() -> None:
    spec = compile_field("F", "due_date", Annotated[datetime.date | None, Field(help="When")], None)
    assert (spec.label, spec.help, spec.widget, spec.required) == (
        "Due date",
        "When",
        "date",
        False,
    )
    spec = compile_field("F", "size", Size, msgspec.NODEFAULT)
    assert spec.choices == [("s", "Small"), ("xl", "Extra large")]
    assert (spec.widget, spec.required) == ("select", True)
    labelled = compile_field(
        "F", "size", Annotated[Size, Field(choices={Size.SMALL: "S"})], Size.SMALL
    )
    assert labelled.choices[0] == ("s", "S")


def test_unsupported_types_are_refused_with_the_field_name() -> None:
    with pytest.raises(TypeError, match=r"F\.x: .*cannot come from an HTML form"):
        compile_field("F", "x", dict[str, int], msgspec.NODEFAULT)
    with pytest.raises(TypeError, match=r"F\.x: a form field has one type"):
        compile_field("F", "x", int | str, msgspec.NODEFAULT)
    with pytest.raises(ValueError, match="Unknown widget 'slider'"):
        Field(widget="slider")


def test_humanize_falls_back_to_msgspec_text() -> None:
    assert humanize("Expected `int` >= 1 - at `$.x`") == "Enter a value of at least 1."
    assert humanize("Something else") == "Something else"


def test_form_classes_check_their_fields() -> None:
    with pytest.raises(TypeError, match=r"clashes with Form\.errors"):

        class Clash(Form):
            errors: str  # type: ignore[assignment]

    with pytest.raises(TypeError, match="'csrf_token' is the CSRF token's field"):

        class Token(Form):
            csrf_token: str

    with pytest.raises(TypeError, match=r"@validator\('nme'\) names no field"):

        class Typo(Form):
            name: str

            @validator("nme")
            def check(self, value: str) -> str:
                return value
