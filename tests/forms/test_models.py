"""Model forms: fields derived from SQLAlchemy columns; saving creates or updates the row."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable
from typing import Annotated

import msgspec
import pytest
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tidal import Request, Tidal
from tidal.forms import Field, ModelForm, validator
from tidal.testing import TestClient


class Base(DeclarativeBase):
    """A registry of its own, so these tables never mix with the project's models."""


class Stage(enum.Enum):
    TODO = "todo"
    DONE = "done"


class Card(Base):
    __tablename__ = "form_test_card"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(20))
    points: Mapped[int] = mapped_column(default=1)
    notes: Mapped[str | None]
    stage: Mapped[Stage] = mapped_column(default=Stage.TODO)
    owner: Mapped[str] = mapped_column(String(40), default="nobody")


class CardForm(ModelForm, model=Card, exclude=["owner"]):
    title: Annotated[str, msgspec.Meta(min_length=3, max_length=20), Field(label="Card title")]
    confirm: bool = False  # a form-only field: validated, never saved

    @validator("title")
    def tidy(self, value: str) -> str:
        return " ".join(value.split())


class TitleOnly(ModelForm, model=Card, fields=["title"]):
    pass


@pytest.fixture
async def db() -> AsyncIterator[AsyncSession]:
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        yield session
    await engine.dispose()


def test_fields_come_from_the_columns() -> None:
    specs = CardForm.fields()
    assert list(specs) == ["title", "points", "notes", "stage", "confirm"]
    assert specs["title"].label == "Card title"
    assert specs["title"].constraints == {"min_length": 3, "max_length": 20}
    assert (specs["points"].widget, specs["points"].required, specs["points"].default) == (
        "number",
        False,
        1,
    )
    assert specs["notes"].optional
    assert specs["stage"].choices == [("todo", "Todo"), ("done", "Done")]
    assert list(TitleOnly.fields()) == ["title"]
    assert TitleOnly.fields()["title"].constraints == {"max_length": 20}


async def test_save_creates_the_row(db: AsyncSession) -> None:
    form = CardForm({"title": "  Write   docs ", "stage": "done", "confirm": "on"})
    assert await form.validate()
    card = await form.save(db, owner="ada")
    await db.commit()
    assert card.id is not None
    stored = (await db.execute(select(Card))).scalar_one()
    assert (stored.title, stored.points, stored.notes, stored.stage, stored.owner) == (
        "Write docs",
        1,
        None,
        Stage.DONE,
        "ada",
    )
    assert form.instance is card


async def test_an_edit_form_shows_and_updates_the_row(db: AsyncSession) -> None:
    card = Card(title="Old", points=3, notes="n", stage=Stage.TODO, owner="ada")
    db.add(card)
    await db.commit()
    page = CardForm(instance=card)
    assert page["title"].value == "Old"
    assert page["points"].value == "3"
    assert '<option value="todo" selected>Todo</option>' in page["stage"].__html__()
    form = CardForm({"title": "New title", "points": "5", "stage": "done"}, instance=card)
    assert await form.validate()
    assert await form.save(db) is card
    await db.commit()
    assert (card.title, card.points, card.notes, card.stage, card.owner) == (
        "New title",
        5,
        None,
        Stage.DONE,
        "ada",
    )


async def test_model_constraints_are_validated(db: AsyncSession) -> None:
    form = TitleOnly({"title": "x" * 21})
    assert not await form.validate()
    assert form.errors == {"title": ["Enter at most 20 characters."]}
    with pytest.raises(RuntimeError, match="needs a valid form"):
        await form.save(db)
    missing = CardForm({"points": "two"})
    assert not await missing.validate()
    assert missing.errors == {
        "title": ["This field is required."],
        "points": ["Enter a whole number."],
    }


async def test_a_model_form_in_a_handler(make_app: Callable[..., Tidal], db: AsyncSession) -> None:
    app = make_app()

    @app.post("/cards")
    async def create(request: Request) -> dict[str, object]:
        form = await CardForm.from_request(request)
        if not form.is_valid:
            return {"errors": form.errors}
        card = await form.save(db)
        return {"id": card.id, "title": card.title}

    async with TestClient(app) as client:
        created = await client.post("/cards", data={"title": "From the web"})
        refused = await client.post("/cards", data={"title": "no"})
    assert created.json() == {"id": 1, "title": "From the web"}
    assert refused.json() == {"errors": {"title": ["Enter at least 3 characters."]}}


def test_model_form_declarations_are_checked() -> None:
    with pytest.raises(TypeError, match="fields= and exclude= need model="):

        class Broken(ModelForm, fields=["title"]):
            pass

    class Typo(ModelForm, model=Card, fields=["titel"]):
        pass

    with pytest.raises(ValueError, match="has no column attribute 'titel'"):
        Typo.fields()
