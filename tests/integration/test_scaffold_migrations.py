"""A project's migrations life, through the real command in a fresh process, on SQLite and
on PostgreSQL: a model, makemigrations, migrate, a change to the model, a second migration,
and `tidal db check` passing; plus two apps with a foreign key between them, a dropped
model, downgrades, and `check` failing while the migrations lag behind the models.

The project is written here (not made by `tidal new`) so this test depends only on tidal.db.
PostgreSQL runs use a fresh schema of TIDAL_TEST_POSTGRES_URL's database; an unreachable
PostgreSQL fails the test.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.db.conftest import POSTGRES_URL, create_schema, drop_schema, with_schema
from tidal.db.engine import _server_settings

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]

APP = """
from tidal import Tidal

app = Tidal(apps={apps!r}, settings={{"debug": True}})
"""

CATALOG_V1 = """
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tidal.db import Model, TimestampMixin


class Product(TimestampMixin, Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
"""

CATALOG_V2 = (
    CATALOG_V1
    + """
    price_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    sku: Mapped[str | None] = mapped_column(String(20), index=True)


class Category(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
"""
)

ORDERS = """
from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from tidal.db import Model


class Order(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[int] = mapped_column(default=1)
"""


class Project:
    """A project folder and the `tidal db` command run in it, in a fresh interpreter."""

    def __init__(self, path: Path, database_url: str) -> None:
        self.path = path
        self.database_url = database_url

    def write(self, relative: str, source: str) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")

    def app(self, *apps: str) -> None:
        self.write("app.py", APP.format(apps=list(apps)))
        for name in apps:
            self.write(f"{name}/__init__.py", "")

    def run(self, *args: str, expect: int = 0, via_tidal: bool = False) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIDAL_")}
        env["TIDAL_DATABASE_URL"] = self.database_url
        env["PYTHONPATH"] = str(ROOT)
        if via_tidal:  # through the `tidal` command group, as users run it
            command = [sys.executable, "-c", "from tidal.cli import main; main()", "db", *args]
        else:
            command = [sys.executable, "-m", "tidal.db.commands", *args]
        result = subprocess.run(
            command,
            cwd=self.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == expect, f"`tidal db {' '.join(args)}` said:\n{output}"
        return output

    def python(self, *lines: str) -> None:
        """Run ``lines`` in an async function in the project, with ``app`` imported."""
        body = "\n".join(f"    {line}" for line in lines)
        script = (
            f"import asyncio, tidal.db\nfrom app import app\n\nasync def main():\n{body}\n"
            "    await tidal.db.database(app).dispose()\n\nasyncio.run(main())\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIDAL_")}
        env.update(TIDAL_DATABASE_URL=self.database_url, PYTHONPATH=str(ROOT))
        subprocess.run(
            [sys.executable, "-c", script], cwd=self.path, env=env, check=True, timeout=60
        )

    def migrations(self, app: str) -> list[str]:
        folder = self.path / app / "migrations"
        return sorted(p.name for p in folder.glob("*.py") if p.name != "__init__.py")

    def tables(self) -> set[str]:
        return set(_on_database(self.database_url, lambda c: inspect(c).get_table_names()))

    def scalar(self, sql: str) -> Any:
        return _on_database(self.database_url, lambda c: c.execute(text(sql)).scalar())


def _on_database(url: str, work: Callable[[Connection], T]) -> T:
    """Run ``work`` on a connection to ``url`` (search_path option included)."""

    async def run() -> T:
        parsed, settings = _server_settings(make_url(url))
        connect_args = {"server_settings": settings} if settings else {}
        engine = create_async_engine(parsed, connect_args=connect_args)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.fixture(params=["sqlite", "postgres"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Project]:
    folder = tmp_path / "mysite"
    folder.mkdir()
    if request.param == "sqlite":
        yield Project(folder, f"sqlite+aiosqlite:///{folder / 'db.sqlite3'}")
        return
    schema = asyncio.run(create_schema(POSTGRES_URL))
    try:
        yield Project(folder, with_schema(POSTGRES_URL, schema))
    finally:
        asyncio.run(drop_schema(POSTGRES_URL, schema))


def test_model_migrate_change_migrate_check(project: Project) -> None:
    project.app("catalog")
    project.write("catalog/models.py", CATALOG_V1)

    assert "Created catalog/migrations/catalog_0001_initial.py" in project.run(
        "makemigrations", "-m", "initial"
    )
    assert "Applied catalog_0001" in project.run("migrate")
    assert "OK" in project.run("check")
    assert {"product", "alembic_version"} <= project.tables()
    first = (project.path / "catalog/migrations/catalog_0001_initial.py").read_text()
    assert "branch_labels = ('catalog',)" in first
    assert "op.f('uq_product_name')" in first  # constraint names from the naming convention

    project.write("catalog/models.py", CATALOG_V2)
    lagging = project.run("check", expect=1)
    assert "table 'category' is declared by a model but no migration creates it" in lagging
    assert "column product.price_cents is declared but not migrated" in lagging

    made = project.run("makemigrations", "-m", "prices and categories")
    assert "Created catalog/migrations/catalog_0002_prices_and_categories.py" in made
    assert project.migrations("catalog") == [
        "catalog_0001_initial.py",
        "catalog_0002_prices_and_categories.py",
    ]
    second = (project.path / "catalog/migrations/catalog_0002_prices_and_categories.py").read_text()
    assert "batch_op.add_column" in second  # batch mode: SQLite can ALTER, PostgreSQL too
    assert "down_revision = 'catalog_0001'" in second

    # The migrations now match the models, even before they are applied to the database.
    assert "OK" in project.run("check")
    assert "No changes" in project.run("makemigrations", "-m", "nothing")
    assert "Applied catalog_0002" in project.run("migrate")
    assert "OK" in project.run("check", via_tidal=True)
    assert {"product", "category"} <= project.tables()

    history = project.run("history")
    assert "catalog_0001 -> catalog_0002 (catalog) (head) (current)" in history
    assert "<base> -> catalog_0001 (catalog)" in history

    assert "Reverted catalog_0002" in project.run("downgrade", "catalog@-1")
    assert "category" not in project.tables()
    assert "Nothing to apply" not in project.run("migrate")
    assert "Nothing to apply" in project.run("migrate")


def test_apps_with_foreign_keys_between_them_and_dropped_models(project: Project) -> None:
    project.app("catalog", "orders")
    project.write("catalog/models.py", CATALOG_V1)
    project.write("orders/models.py", ORDERS)

    made = project.run("makemigrations", "-m", "initial")
    assert "catalog/migrations/catalog_0001_initial.py" in made
    assert "orders/migrations/orders_0001_initial.py" in made
    orders = (project.path / "orders/migrations/orders_0001_initial.py").read_text()
    assert "depends_on = 'catalog_0001'" in orders  # product exists before order points to it
    assert "fk_order_product_id_product" in orders

    applied = project.run("migrate")
    assert applied.index("catalog_0001") < applied.index("orders_0001")
    assert "OK" in project.run("check")

    # One app at a time; a model deleted from the code gets its table dropped.
    project.write("orders/models.py", ORDERS.replace("class Order(Model)", "class Basket(Model)"))
    made = project.run("makemigrations", "-m", "baskets", "--app", "orders")
    assert "orders_0002_baskets.py" in made
    assert project.migrations("catalog") == ["catalog_0001_initial.py"]
    dropped = (project.path / "orders/migrations/orders_0002_baskets.py").read_text()
    assert "op.drop_table('order')" in dropped
    assert "op.create_table('basket'" in dropped
    project.run("migrate")
    assert "order" not in project.tables()
    assert "OK" in project.run("check")

    unknown = project.run("makemigrations", "-m", "x", "--app", "nope", expect=1)
    assert "No installed app with models is labelled 'nope'" in unknown

    # A table made by hand (or by another tool) is not Tidal's to drop.
    project.python(
        "from sqlalchemy import text",
        "async with tidal.db.session(app) as db:",
        "    await db.execute(text('CREATE TABLE legacy (id INTEGER PRIMARY KEY)'))",
    )
    assert "legacy" in project.tables()
    assert "OK" in project.run("check")
    assert "No changes" in project.run("makemigrations", "-m", "nothing")


def test_check_without_database_state_and_sqlite_alter_keeps_data(
    project: Project,
) -> None:
    project.app("catalog")
    project.write("catalog/models.py", CATALOG_V1)
    project.run("makemigrations", "-m", "initial")
    project.run("migrate")
    project.python(
        "from catalog.models import Product",
        "async with tidal.db.session(app) as db:",
        "    db.add(Product(name='kept'))",
    )
    # Making name nullable is an ALTER COLUMN: SQLite rebuilds the table (batch mode).
    project.write(
        "catalog/models.py",
        CATALOG_V1.replace("name: Mapped[str]", "name: Mapped[str | None]"),
    )
    made = project.run("makemigrations", "-m", "optional name")
    migration = (project.path / "catalog/migrations/catalog_0002_optional_name.py").read_text()
    assert "alter_column('name'" in migration, made
    project.run("migrate")
    assert "OK" in project.run("check")
    assert project.scalar("SELECT count(*) FROM product WHERE name = 'kept'") == 1
