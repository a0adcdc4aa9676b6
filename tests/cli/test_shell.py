"""``tidal shell``: a started application and top-level ``await``, fed through a pipe."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tidal.cli.shell import LoopThread

Invoke = Callable[..., Result]
WriteProject = Callable[..., Path]

APP = """
    import asyncio

    from tidal import Tidal

    app = Tidal()
    events = []


    @app.on_startup
    async def started() -> None:
        app.state["loop"] = asyncio.get_running_loop()
        events.append("started")


    @app.on_shutdown
    async def stopped() -> None:
        events.append("stopped")


    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}
"""


@pytest.fixture
def shell_project(project: WriteProject) -> Path:
    return project({"app.py": APP})


def test_piped_session(invoke: Invoke, shell_project: Path) -> None:
    session = "\n".join(
        [
            "import app as module",
            "module.events",
            "settings.secret_key == app.settings.secret_key",
            "await asyncio.sleep(0, result=6 * 7)",
            "async def same_loop():",
            "    return asyncio.get_running_loop() is app.state['loop']",
            "",
            "await same_loop()",
            "from tidal.testing import TestClient",
            "response = await TestClient(app, lifespan=False).get('/ping')",
            "print(response.status_code, response.json())",
            "",
        ]
    )
    result = invoke("shell", input=session)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "['started']",
        "True",
        "42",
        "True",
        "200 {'pong': 'yes'}",
    ]
    assert ">>>" not in result.output  # no prompts when the input is not a terminal
    assert sys.modules["app"].events == ["started", "stopped"]


def test_errors_are_reported_and_the_session_goes_on(invoke: Invoke, shell_project: Path) -> None:
    session = "async def fail():\n    raise ValueError('nope')\n\nawait fail()\nprint('after')\n"
    result = invoke("shell", input=session)
    assert result.exit_code == 0
    assert "ValueError: nope" in result.stderr
    assert 'File "<tidal shell>", line 2, in fail' in result.stderr
    assert "tidal/cli/shell.py" not in result.stderr  # the console's own frames are hidden
    assert result.stdout == "after\n"


def test_command_option(invoke: Invoke, shell_project: Path) -> None:
    result = invoke("shell", "-c", "print(await asyncio.sleep(0, result=app.settings.debug))")
    assert result.exit_code == 0
    assert result.stdout == "False\n"


def test_command_option_fails_on_error(invoke: Invoke, shell_project: Path) -> None:
    result = invoke("shell", "-c", "1 / 0")
    assert result.exit_code == 1
    assert "ZeroDivisionError" in result.stderr
    assert sys.modules["app"].events == ["started", "stopped"]  # shut down all the same


def test_command_option_syntax_error(invoke: Invoke, shell_project: Path) -> None:
    result = invoke("shell", "-c", "print((")
    assert result.exit_code == 1
    assert "SyntaxError" in result.stderr


def test_exit_shuts_the_app_down(invoke: Invoke, shell_project: Path) -> None:
    result = invoke("shell", input="raise SystemExit(3)\nprint('never')\n")
    assert result.exit_code == 3
    assert "never" not in result.output
    assert sys.modules["app"].events == ["started", "stopped"]


def test_startup_failure_is_a_clear_error(invoke: Invoke, project: WriteProject) -> None:
    project({"app.py": "from tidal import Tidal\napp = Tidal()\n"}, env="")
    result = invoke("shell", input="print('never')\n")
    assert result.exit_code == 1
    assert "security.E001" in result.output
    assert "never" not in result.output


def test_loop_thread_runs_coroutines_and_closes() -> None:
    async def answer() -> int:
        return 42

    runner = LoopThread()
    runner.start()
    try:
        assert runner.run(answer()) == 42
    finally:
        runner.close()
    assert runner.loop.is_closed()
