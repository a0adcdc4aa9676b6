"""``tidal run``: the checks before serving, and how the server is configured."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from tidal.cli import run as run_module

Invoke = Callable[..., Result]
WriteProject = Callable[..., Path]

APP = """
    from tidal import Tidal

    app = Tidal()

    @app.get("/")
    async def home() -> str:
        return "home"
"""


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replaces the servers: each call's arguments are recorded instead of serving."""
    calls: list[dict[str, Any]] = []

    def fake(target: str, **options: Any) -> None:
        calls.append({"target": target, **options})

    monkeypatch.setitem(run_module.SERVERS, "uvicorn", fake)
    monkeypatch.setitem(run_module.SERVERS, "granian", fake)
    return calls


def test_missing_secret_key_fails_fast(
    invoke: Invoke, project: WriteProject, served: list[dict[str, Any]]
) -> None:
    project({"app.py": APP}, env="TIDAL_DEBUG=false\nTIDAL_ALLOWED_HOSTS=example.com\n")
    result = invoke("run")
    assert result.exit_code == 1
    assert "(security.E001) TIDAL_SECRET_KEY is not set." in result.stderr
    assert "HINT:" in result.stderr
    assert "was not started" in result.stderr
    assert "Traceback" not in result.output
    assert served == []


def test_bad_handler_fails_before_serving(
    invoke: Invoke, project: WriteProject, served: list[dict[str, Any]]
) -> None:
    project(
        {
            "app.py": """
            from tidal import Tidal

            app = Tidal()

            @app.get("/")
            async def home(mystery: object) -> str:
                return "home"
        """
        }
    )
    result = invoke("run")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "mystery" in result.output
    assert "Traceback" not in result.output
    assert served == []


def test_serves_the_import_string(
    invoke: Invoke, project: WriteProject, served: list[dict[str, Any]]
) -> None:
    project({"app.py": APP})
    result = invoke("run", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert "serving app:app at http://127.0.0.1:8123" in result.output
    assert served == [
        {"target": "app:app", "host": "127.0.0.1", "port": 8123, "reload": False, "workers": None}
    ]


def test_options_reach_the_server(
    invoke: Invoke, project: WriteProject, served: list[dict[str, Any]]
) -> None:
    project({"web.py": APP})
    result = invoke("--app", "web", "run", "--host", "::", "--workers", "3", "--server", "granian")
    assert result.exit_code == 0, result.output
    assert "serving web:app at http://[::]:8000 with 3 workers" in result.output
    assert "TIDAL_REDIS_URL" in result.stderr  # several workers share nothing without Redis
    assert served[0]["workers"] == 3
    assert served[0]["host"] == "::"


def test_reload_and_workers_are_exclusive(invoke: Invoke, project: WriteProject) -> None:
    project({"app.py": APP})
    result = invoke("run", "--reload", "--workers", "2")
    assert result.exit_code == 2
    assert "--reload runs one process" in result.output


def test_uvicorn_configuration(
    invoke: Invoke, project: WriteProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    project({"app.py": APP})
    result = invoke("run", "--reload")
    assert result.exit_code == 0, result.output
    [(target, options)] = calls
    assert target == "app:app"  # a string, so reload and workers can import it themselves
    assert options["reload"] is True
    assert options["loop"] == "uvloop"
    assert options["http"] == "httptools"
    assert options["ws"] == "websockets-sansio"
    assert options["access_log"] is False
    assert options["lifespan"] == "on"
    assert options["app_dir"] == str(Path.cwd())
    loggers = options["log_config"]["loggers"]
    assert loggers["tidal.access"]["level"] == "INFO"
    assert "uvicorn.access" in loggers  # uvicorn's own config is kept, only extended


LOGGING_SCRIPT = """
import logging, logging.config
from uvicorn.config import LOGGING_CONFIG
from tidal.cli.run import add_tidal_loggers

config = add_tidal_loggers(
    LOGGING_CONFIG,
    formatter="%(levelprefix)s %(message)s",
    formatter_factory="uvicorn.logging.DefaultFormatter",
)
config["formatters"]["tidal"]["use_colors"] = False
logging.config.dictConfig(config)
logging.getLogger("tidal.access").info('{"path": "/"}')
logging.getLogger("tidal.request").error("boom")
logging.getLogger("tidal.request").debug("hidden")
"""


def test_logging_config_prints_access_lines() -> None:
    # In a fresh interpreter: dictConfig would close the test run's own log handlers.
    done = subprocess.run(
        [sys.executable, "-c", LOGGING_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == 'INFO:     {"path": "/"}\n'
    assert done.stderr == "ERROR:    boom\n"


def test_granian_reloads_on_code_changes_only() -> None:
    """granian's own filter passes every file: a write by the application (its SQLite
    database) restarted it in a loop."""
    from watchfiles import Change

    accepts = run_module.code_changes_filter()()
    assert accepts(Change.modified, "/project/app.py")
    assert accepts(Change.modified, "/project/.env")
    assert not accepts(Change.modified, "/project/db.sqlite3")
    assert not accepts(Change.added, "/project/db.sqlite3-journal")
    assert not accepts(Change.modified, "/project/__pycache__/app.cpython-311.pyc")
