"""The Model base: table names, constraint names, timestamps in UTC, models per app."""

from __future__ import annotations

import datetime

from sqlalchemy import select
from sqlalchemy.schema import CreateTable

import tidal.db
from tidal import Tidal
from tidal.apps import load_app
from tidal.db.models import Model, models_of, table_name_for, tables_of

from .blog.models import Author, Board, Card


def test_tables_are_named_after_their_models() -> None:
    assert table_name_for("CardComment") == "card_comment"
    assert table_name_for("HTTPLog") == "http_log"
    assert Card.__tablename__ == "card"


def test_constraints_get_deterministic_names() -> None:
    ddl = str(CreateTable(Card.__table__).compile())  # type: ignore[arg-type]
    for name in (
        "pk_card",
        "uq_card_board_id_title",
        "fk_card_board_id_board",
        "ck_card_position_not_negative",
    ):
        assert f"CONSTRAINT {name}" in ddl
    assert "uq_author_email" in str(CreateTable(Author.__table__).compile())  # type: ignore[arg-type]


def test_models_are_found_through_the_installed_apps() -> None:
    config = load_app("tests.db.blog")
    assert models_of(config) == [Author, Board, Card]
    assert sorted(tables_of(config)) == ["author", "board", "card"]
    assert Model.metadata.tables["card"] is Card.__table__


def test_repr_shows_the_primary_key() -> None:
    assert repr(Author(id=3, email="e", name="n")) == "<Author id=3>"


async def test_timestamps_are_set_and_timezone_aware(app: Tidal) -> None:
    async with tidal.db.session(app) as db:
        board = Board(name="Time")
        db.add(board)
        await db.flush()
        created = board.created_at
        assert created.tzinfo is datetime.UTC
        assert board.updated_at >= created
    async with tidal.db.session(app) as db:
        board = (await db.scalars(select(Board))).one()
        assert board.created_at == created  # read back aware, in UTC, on SQLite too
        assert board.created_at.utcoffset() == datetime.timedelta(0)
        board.name = "Renamed"
        await db.flush()
        assert board.updated_at > created
        assert board.created_at == created


async def test_naive_datetimes_are_taken_as_utc(app: Tidal) -> None:
    naive = datetime.datetime(2030, 1, 2, 3, 4, 5)
    async with tidal.db.session(app) as db:
        db.add(Board(name="Naive", created_at=naive))
    async with tidal.db.session(app) as db:
        board = (await db.scalars(select(Board))).one()
        assert board.created_at == naive.replace(tzinfo=datetime.UTC)
