"""Alembic for the installed apps of one application, configured in code.

Layout: each installed app with models keeps its revisions in ``<app>/migrations/``, as an
Alembic branch labelled with the app's label, with revision ids ``<label>_0001``,
``<label>_0002``... All branches share one version table, so ``migrate`` brings every app up
to date at once. A migration that needs another app's table (a foreign key to it) depends
on that app's latest revision, so Alembic applies them in the right order.

Every command runs Alembic's synchronous API on one connection of the application's async
engine (``AsyncConnection.run_sync``), inside one transaction: ``migrate`` and
``downgrade`` commit it, so a failing migration leaves nothing half-done (PostgreSQL and
SQLite both have transactional DDL). ``makemigrations`` and ``check`` roll it back: they
first apply the pending migrations, then compare the models with the result, so they
describe "models vs. migrations" whatever state the database itself is in.

Operations are rendered in batch mode (``with op.batch_alter_table(...)``), which SQLite
needs for ALTER and PostgreSQL runs as plain ALTER statements, so a migration generated on
one runs on the other.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.operations import ops
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, ForeignKeyConstraint

from tidal.db.lifecycle import database
from tidal.db.models import Model, UTCDateTime, tables_of
from tidal.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from tidal.app import Tidal
    from tidal.apps import AppConfig

T = TypeVar("T")
HERE = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"
_CREATED_TABLE = re.compile(r"""create_table\(\s*['"]([^'"]+)['"]""")
_REVISION_NUMBER = re.compile(r"_(\d{4,})$")


class MigrationError(ImproperlyConfigured):
    """A migration command cannot proceed; the message says why and what to do."""

    code = "migrations"


class Migrations:
    """The migrations of ``app``'s installed apps. Each public method runs one command."""

    def __init__(self, app: Tidal, *, stdout: TextIO | None = None) -> None:
        self.app = app
        self.database = database(app)
        self.stdout = stdout
        self.apps = [config for config in app.apps if tables_of(config)]
        self._scope: set[str] = set()
        self._current: AppConfig | None = None
        self._connection: Connection | None = None
        self._heads: dict[str, str] = {}

    # -- where things are ---------------------------------------------------------------

    @staticmethod
    def folder(config: AppConfig) -> Path:
        return config.path / "migrations"

    def app_for(self, label: str) -> AppConfig:
        for config in self.apps:
            if config.label == label:
                return config
        labels = ", ".join(c.label for c in self.apps) or "none"
        raise MigrationError(
            f"No installed app with models is labelled {label!r} (apps with models: {labels})."
        )

    def owned_tables(self, config: AppConfig) -> set[str]:
        """Tables the app declares, plus those its migrations created (so that a model
        deleted from the code gets its table dropped, and only then)."""
        names = set(tables_of(config))
        folder = self.folder(config)
        if folder.is_dir():
            for script in folder.glob("*.py"):
                names.update(_CREATED_TABLE.findall(script.read_text(encoding="utf-8")))
        return names

    def config(self, *, quiet: bool = True) -> Config:
        """The Alembic configuration, built in code (no alembic.ini). ``quiet`` silences
        Alembic's own progress lines; the commands print their own summary."""
        options = argparse.Namespace(quiet=quiet)
        if self.stdout is not None:
            config = Config(stdout=self.stdout, cmd_opts=options)
        else:
            config = Config(cmd_opts=options)
        config.set_main_option("script_location", str(HERE))
        config.set_main_option("path_separator", "os")
        # Folders not created yet are listed too: Alembic skips missing ones.
        folders = [str(self.folder(c)) for c in self.apps]
        config.set_main_option("version_locations", os.pathsep.join(folders))
        config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
        config.attributes["tidal"] = self
        config.attributes["connection"] = self._connection
        return config

    def scripts(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config())

    # -- running on the async engine ----------------------------------------------------

    def _run(self, work: Callable[[], T], *, commit: bool) -> T:
        return asyncio.run(self._run_async(work, commit=commit))

    async def _run_async(self, work: Callable[[], T], *, commit: bool) -> T:
        engine = self.database.engine
        try:
            async with engine.connect() as connection:

                def run(sync_connection: Connection) -> T:
                    self._connection = sync_connection
                    if not sync_connection.in_transaction():
                        sync_connection.begin()
                    try:
                        return work()
                    finally:
                        self._connection = None

                result = await connection.run_sync(run)
                if commit:
                    await connection.commit()
                else:
                    await connection.rollback()
                return result
        finally:
            await self.database.dispose()

    def _upgrade(self, target: str = "heads") -> None:
        if self.apps:
            command.upgrade(self.config(), target)

    # -- commands -----------------------------------------------------------------------

    def makemigrations(self, message: str, label: str | None = None) -> list[Path]:
        """Write a revision for each app (or app ``label``) whose models differ from its
        migrations; returns the files written (none when nothing changed)."""
        targets = [self.app_for(label)] if label else list(self.apps)

        def work() -> list[Path]:
            self._upgrade()
            written: list[Path] = []
            for config in targets:
                path = self._revision(config, message)
                if path is not None:
                    written.append(path)
                    self._upgrade()  # the next app's comparison sees this one applied
            return written

        return self._run(work, commit=False)

    def _revision(self, config: AppConfig, message: str) -> Path | None:
        folder = self.folder(config)
        if not folder.is_dir():
            folder.mkdir(parents=True)
        init = folder / "__init__.py"
        if not init.exists():
            init.write_text("", encoding="utf-8")
        script_directory = self.scripts()
        mine = [
            script
            for script in script_directory.walk_revisions()
            if Path(script.path).parent.resolve() == folder.resolve()
        ]
        numbers = [int(m.group(1)) for s in mine if (m := _REVISION_NUMBER.search(s.revision))]
        rev_id = f"{config.label}_{max(numbers, default=len(mine)) + 1:04d}"
        self._heads = self._branch_heads(script_directory)
        self._current = config
        self._scope = self.owned_tables(config)
        try:
            script = command.revision(
                self.config(),
                message=message,
                autogenerate=True,
                head=f"{config.label}@head" if mine else "base",
                branch_label=None if mine else config.label,
                version_path=str(folder),
                rev_id=rev_id,
                process_revision_directives=self._process_directives,
            )
        finally:
            self._current = None
        scripts = script if isinstance(script, list) else [script]
        written = [s for s in scripts if s is not None]
        return Path(written[0].path) if written else None

    def _branch_heads(self, script_directory: ScriptDirectory) -> dict[str, str]:
        heads: dict[str, str] = {}
        for config in self.apps:
            try:
                revision = script_directory.get_revision(f"{config.label}@head")
            except Exception:  # noqa: S112 - an app without revisions has no head
                continue
            if revision is not None:
                heads[config.label] = revision.revision
        return heads

    def _process_directives(
        self, context: MigrationContext, revision: Any, directives: list[Any]
    ) -> None:
        script = directives[0]
        if all(upgrade.is_empty() for upgrade in script.upgrade_ops_list):
            directives[:] = []  # nothing changed: write no file
            return
        current = self._current
        needed = set()
        for upgrade in script.upgrade_ops_list:
            for table in _referenced_tables(upgrade.ops):
                for config in self.apps:
                    if config is not current and table in self.owned_tables(config):
                        head = self._heads.get(config.label)
                        if head is not None:
                            needed.add(head)
        if needed:
            script.depends_on = sorted(needed)

    def migrate(self, target: str = "heads") -> list[str]:
        """Apply migrations up to ``target`` (default: every app's latest); returns the
        revisions applied."""
        applied: list[str] = []
        self._on_apply = applied.append

        def work() -> list[str]:
            self._scope = self._all_tables()
            self._upgrade(target)
            return applied

        return self._run(work, commit=True)

    def downgrade(self, target: str) -> list[str]:
        """Revert migrations down to ``target`` (``board@-1``, ``board_0001``, ``base``)."""
        reverted: list[str] = []
        self._on_apply = reverted.append

        def work() -> list[str]:
            self._scope = self._all_tables()
            command.downgrade(self.config(), target)
            return reverted

        return self._run(work, commit=True)

    def history(self) -> None:
        """Print every revision, newest first, marking the ones applied (``current``)."""

        def work() -> None:
            self._scope = self._all_tables()
            if self.apps:
                command.history(self.config(quiet=False), indicate_current=True)

        self._run(work, commit=False)

    def check(self) -> list[str]:
        """The differences between the models and the migrations, described; empty when
        they agree. Apps with models but no migrations count as differences."""

        def work() -> list[str]:
            self._upgrade()
            self._scope = self._all_tables()
            assert self._connection is not None
            context = MigrationContext.configure(self._connection, opts=self._context_options())
            return [describe(diff) for diff in compare_metadata(context, Model.metadata)]

        return self._run(work, commit=False)

    # -- what Alembic calls back --------------------------------------------------------

    _on_apply: Callable[[str], Any] | None = None

    def _all_tables(self) -> set[str]:
        names: set[str] = set()
        for config in self.apps:
            names |= self.owned_tables(config)
        return names

    def _include(
        self, obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if type_ == "table":
            return name in self._scope
        table = getattr(obj, "table", None)
        table_name = getattr(table, "name", None)
        return table_name is None or table_name in self._scope

    def _applied(
        self, *, ctx: MigrationContext, step: MigrationInfo, heads: Any, run_args: Any
    ) -> None:
        if self._on_apply is not None and step.up_revision_id:
            self._on_apply(step.up_revision_id)

    def _context_options(self) -> dict[str, Any]:
        return {
            "target_metadata": Model.metadata,
            "include_object": self._include,
            "compare_type": True,
            "render_as_batch": True,
            "render_item": render_item,
            "version_table": VERSION_TABLE,
            "on_version_apply": self._applied,
        }

    def configure(self, environment: EnvironmentContext) -> None:
        """Called from ``env.py``: run Alembic's operation on our connection."""
        if environment.is_offline_mode():
            raise MigrationError("Offline (--sql) migrations are not supported.")
        if self._connection is None:
            raise MigrationError("Migrations run through `tidal db ...`, not `alembic ...`.")
        environment.configure(connection=self._connection, **self._context_options())
        with environment.begin_transaction():
            environment.run_migrations()


def run_environment(environment: EnvironmentContext) -> None:
    """The body of ``env.py``."""
    migrations = environment.config.attributes.get("tidal")
    if not isinstance(migrations, Migrations):
        raise MigrationError(
            "This Alembic environment belongs to Tidal; run `tidal db migrate` (or "
            "makemigrations, downgrade, history, check) instead of `alembic`."
        )
    migrations.configure(environment)


def render_item(type_: str, obj: Any, context: AutogenContext) -> str | bool:
    """Render Tidal's column types as the plain SQLAlchemy types they store, so migration
    files do not import Tidal internals."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _referenced_tables(operations: Iterable[Any]) -> Iterator[str]:
    """Tables that foreign keys created by ``operations`` point to."""
    for operation in operations:
        if isinstance(operation, ops.CreateTableOp):
            for item in operation.columns:
                if isinstance(item, ForeignKeyConstraint):
                    yield item.referred_table.name
                for key in getattr(item, "foreign_keys", ()):
                    yield key.target_fullname.rpartition(".")[0].rpartition(".")[2]
        elif isinstance(operation, ops.AddColumnOp):
            for key in operation.column.foreign_keys:
                yield key.target_fullname.rpartition(".")[0].rpartition(".")[2]
        elif isinstance(operation, ops.CreateForeignKeyOp):
            yield operation.referent_table
        elif isinstance(operation, ops.ModifyTableOps):
            yield from _referenced_tables(operation.ops)


def describe(diff: Any) -> str:
    """One line for one difference ``compare_metadata`` found."""
    if isinstance(diff, list):
        return "; ".join(describe(d) for d in diff)
    kind = diff[0]
    if kind == "add_table":
        return f"table {diff[1].name!r} is declared by a model but no migration creates it"
    if kind == "remove_table":
        return f"table {diff[1].name!r} has no model but no migration drops it"
    if kind in ("add_column", "remove_column"):
        where = "declared but not migrated" if kind == "add_column" else "migrated but not declared"
        return f"column {diff[2]}.{diff[3].name} is {where}"
    if kind.startswith("modify_"):
        _, _, table, column, _, old, new = diff
        return f"column {table}.{column}: {kind[7:]} differs (migrations: {old!r}, models: {new!r})"
    if kind in (
        "add_index",
        "remove_index",
        "add_constraint",
        "remove_constraint",
        "add_fk",
        "remove_fk",
    ):
        item = diff[1]
        table = getattr(getattr(item, "table", None), "name", "?")
        return f"{kind.replace('_', ' ')} {item.name!r} on {table}"
    return repr(diff)


__all__ = ["MigrationError", "Migrations", "describe", "render_item", "run_environment"]
