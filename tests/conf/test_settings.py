"""Settings: defaults, settings module, .env, environment and overrides, validated."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tidal.conf import Settings, load_settings
from tidal.conf.env import read_dotenv
from tidal.exceptions import ImproperlyConfigured


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(environ={}, dotenv=tmp_path / "missing.env")
    assert settings == Settings()
    assert settings.debug is False
    assert settings.database_url == "sqlite+aiosqlite:///db.sqlite3"
    assert settings.max_body_size == 1_048_576


def test_environment_is_cast(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "TIDAL_DEBUG": "true",
            "TIDAL_ALLOWED_HOSTS": "example.com, .example.org ,",
            "TIDAL_MAX_BODY_SIZE": "2048",
            "TIDAL_REDIS_URL": "redis://127.0.0.1:6379/0",
            "TIDAL_OPENAPI_URL": "none",
            "UNRELATED": "x",
        },
        dotenv=tmp_path / "missing.env",
    )
    assert settings.debug is True
    assert settings.allowed_hosts == ["example.com", ".example.org"]
    assert settings.max_body_size == 2048
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.openapi_url is None


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("on", True), ("False", False), ("0", False)]
)
def test_booleans(tmp_path: Path, raw: str, expected: bool) -> None:
    settings = load_settings(environ={"TIDAL_DEBUG": raw}, dotenv=tmp_path / "none")
    assert settings.debug is expected


def test_bad_values_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="TIDAL_DEBUG='maybe' is not a boolean"):
        load_settings(environ={"TIDAL_DEBUG": "maybe"}, dotenv=tmp_path / "none")
    with pytest.raises(ImproperlyConfigured, match=r"Expected `int`.*max_body_size"):
        load_settings(environ={"TIDAL_MAX_BODY_SIZE": "lots"}, dotenv=tmp_path / "none")
    with pytest.raises(ImproperlyConfigured, match="Unknown setting"):
        load_settings({"debugg": True}, environ={}, dotenv=tmp_path / "none")


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "proj_settings_mod.py"
    package.write_text("DEBUG = True\nTITLE = 'from module'\nVERSION = '9'\nMAX_BODY_SIZE = 10\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\nexport TIDAL_TITLE='from dotenv'\nTIDAL_MAX_BODY_SIZE=20\n"
        "TIDAL_SETTINGS_MODULE=proj_settings_mod\n"
    )
    settings = load_settings(
        {"version": "override"}, environ={"TIDAL_MAX_BODY_SIZE": "30"}, dotenv=dotenv
    )
    assert settings.debug is True  # module
    assert settings.title == "from dotenv"  # .env beats module
    assert settings.max_body_size == 30  # environment beats .env
    assert settings.version == "override"  # explicit beats all
    sys.modules.pop("proj_settings_mod", None)


def test_settings_module_typo_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "typo_settings_mod.py").write_text("DEBUG = True\nALLOWED_HOST = ['x']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImproperlyConfigured, match="ALLOWED_HOST is not a Tidal setting"):
        load_settings(environ={"TIDAL_SETTINGS_MODULE": "typo_settings_mod"}, dotenv=tmp_path / "x")
    with pytest.raises(ImproperlyConfigured, match="cannot be imported"):
        load_settings(environ={"TIDAL_SETTINGS_MODULE": "no_such_mod_xyz"}, dotenv=tmp_path / "x")


def test_dotenv_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("TIDAL_DEBUG=true\nnot a pair\n")
    with pytest.raises(ImproperlyConfigured, match=r"\.env:2: expected KEY=value"):
        read_dotenv(path)
