"""`tidal db` finds the application however it is run: from the `tidal` group's loader, a
context dict naming the target, or the default discovery; and `check` fails while models
have no migrations. (The full migrations life runs in tests/integration.)"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tidal import Tidal
from tidal.db.commands import db


class Loader:
    """Stands in for the `tidal` group's AppLoader."""

    def __init__(self, app: Tidal) -> None:
        self.app = app

    def load(self) -> Tidal:
        return self.app


def test_check_fails_while_models_have_no_migrations(
    make_db_app: Callable[..., Tidal],
) -> None:
    result = CliRunner().invoke(db, ["check"], obj=Loader(make_db_app()))
    assert result.exit_code == 1, result.output
    assert "table 'author' is declared by a model but no migration creates it" in result.output
    assert 'Run `tidal db makemigrations -m "..."`' in result.output


def test_the_app_target_may_come_in_a_dict_or_from_discovery(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"dbcli_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "from tidal import Tidal\n"
        f"app = Tidal(settings={{'debug': True, 'database_url': {database_url!r}}})\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    named = CliRunner().invoke(db, ["history"], obj={"app_target": f"{module}:app"})
    assert named.exit_code == 0, named.output
    assert "No installed app declares models" in named.output
    monkeypatch.setenv("TIDAL_APP", f"{module}:app")
    discovered = CliRunner().invoke(db, ["migrate"])
    assert discovered.exit_code == 0, discovered.output
    assert "nothing to migrate" in discovered.output


def test_unknown_app_label_is_a_clear_error(make_db_app: Callable[..., Tidal]) -> None:
    result = CliRunner().invoke(
        db, ["makemigrations", "-m", "x", "--app", "nope"], obj=Loader(make_db_app())
    )
    assert result.exit_code == 1
    assert "No installed app with models is labelled 'nope' (apps with models: blog)" in (
        result.output
    )
