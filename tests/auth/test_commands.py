"""``tidal createuser`` and ``tidal syncperms`` (SQLite; the commands run their own loop)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import tidal.db
from tidal import Tidal
from tidal.auth import configure
from tidal.auth.commands import createuser, syncperms
from tidal.auth.models import Permission, User
from tidal.cli.group import AppLoader
from tidal.db import Model

from ..conftest import SECRET
from ..db.conftest import DBSettings
from .conftest import FAST


@pytest.fixture
def cli_app(tmp_path: Path) -> Tidal:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    app = Tidal(
        apps=("tidal.auth",),
        settings=DBSettings(secret_key=SECRET, allowed_hosts=["testserver"], database_url=url),
    )
    configure(app, FAST)

    async def setup() -> None:
        database = tidal.db.database(app)
        async with database.engine.begin() as connection:
            await connection.run_sync(Model.metadata.create_all)
        await database.dispose()

    asyncio.run(setup())
    return app


def run(app: Tidal, command: object, args: list[str], **kw: object) -> object:
    loader = AppLoader()
    loader._app = app
    return CliRunner().invoke(command, args, obj=loader, **kw)  # type: ignore[arg-type]


def fetch_user(app: Tidal, username: str) -> User | None:
    async def get() -> User | None:
        try:
            async with tidal.db.session(app) as db:
                query = select(User).where(User.username == username)
                return (await db.execute(query)).scalars().first()
        finally:
            await tidal.db.database(app).dispose()

    return asyncio.run(get())


def test_createuser_superuser(cli_app: Tidal) -> None:
    result = run(
        cli_app,
        createuser,
        ["--username", "root", "--email", "root@example.com", "--superuser"],
        input="a long good passphrase\na long good passphrase\n",
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "Superuser 'root' created" in result.output  # type: ignore[attr-defined]
    user = fetch_user(cli_app, "root")
    assert user is not None
    assert user.is_superuser
    assert user.is_staff
    assert user.email == "root@example.com"
    assert user.password.startswith("$argon2id$")


def test_createuser_refuses_weak_passwords_and_duplicates(cli_app: Tidal) -> None:
    result = run(cli_app, createuser, ["--username", "ada", "--password", "123"])
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "too short" in result.output  # type: ignore[attr-defined]
    assert fetch_user(cli_app, "ada") is None
    result = run(
        cli_app, createuser, ["--username", "ada", "--password", "123", "--skip-validation"]
    )
    assert result.exit_code == 0  # type: ignore[attr-defined]
    user = fetch_user(cli_app, "ada")
    assert user is not None
    assert not user.is_superuser
    result = run(cli_app, createuser, ["--username", "ada", "--no-password"])
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "taken" in result.output  # type: ignore[attr-defined]


def test_syncperms(cli_app: Tidal) -> None:
    result = run(cli_app, syncperms, [])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "16 permission(s) created." in result.output  # type: ignore[attr-defined]

    async def count() -> int:
        try:
            async with tidal.db.session(cli_app) as db:
                return int((await db.execute(select(func.count(Permission.id)))).scalar_one())
        finally:
            await tidal.db.database(cli_app).dispose()

    assert asyncio.run(count()) == 16
