"""``tidal check``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tidal.checks import Error, Info, Warning
from tidal.cli.check import format_messages

Invoke = Callable[..., Result]
WriteProject = Callable[..., Path]

APP = "from tidal import Tidal\napp = Tidal()\n"


def test_clean_project(invoke: Invoke, project: WriteProject) -> None:
    project({"app.py": APP})
    result = invoke("check")
    assert result.exit_code == 0
    assert result.output == "System check identified no issues.\n"


def test_errors_fail_with_ids_and_hints(invoke: Invoke, project: WriteProject) -> None:
    project({"app.py": APP}, env="")
    result = invoke("check")
    assert result.exit_code == 1
    assert "ERRORS:" in result.stderr
    assert "(security.E001) TIDAL_SECRET_KEY is not set." in result.stderr
    assert "HINT: Set TIDAL_SECRET_KEY" in result.stderr
    assert "(security.E003)" in result.stderr
    assert result.stderr.rstrip().endswith("System check identified 2 issues.")


def test_deploy_warns_about_debug(invoke: Invoke, project: WriteProject) -> None:
    project({"app.py": APP}, env="TIDAL_DEBUG=true\n")
    assert "no issues" in invoke("check").output
    result = invoke("check", "--deploy")
    assert result.exit_code == 0
    assert "WARNINGS:" in result.output
    assert "(security.W001) TIDAL_DEBUG is on" in result.output
    assert "HINT: Set TIDAL_DEBUG=false in production." in result.output


def test_fail_level(invoke: Invoke, project: WriteProject) -> None:
    project({"app.py": APP}, env="TIDAL_DEBUG=true\n")
    result = invoke("check", "--deploy", "--fail-level", "WARNING")
    assert result.exit_code == 1
    assert "security.W001" in result.stderr
    assert invoke("check", "--deploy", "--fail-level", "error").exit_code == 0


def test_silenced_checks_are_not_reported(invoke: Invoke, project: WriteProject) -> None:
    silenced = "security.W001,security.W011,security.W012,security.W019"
    project({"app.py": APP}, env=f"TIDAL_DEBUG=true\nTIDAL_SILENCED_CHECKS={silenced}\n")
    assert "no issues" in invoke("check", "--deploy").output


def test_app_checks_are_run(invoke: Invoke, project: WriteProject) -> None:
    project(
        {
            "app.py": """
            from tidal import Tidal
            from tidal.checks import Error

            app = Tidal()

            @app.check
            def needs_flag(app):
                yield Error("board.E001", "The board needs a flag.", "Set the flag.", "board")
        """
        }
    )
    result = invoke("check")
    assert result.exit_code == 1
    assert "board: (board.E001) The board needs a flag.\n\tHINT: Set the flag." in result.stderr


def test_report_groups_worst_first() -> None:
    report = format_messages(
        [
            Info("x.I001", "fyi"),
            Error("x.E001", "broken"),
            Warning("x.W001", "careful"),
        ]
    )
    assert report.index("ERRORS:") < report.index("WARNINGS:") < report.index("INFOS:")
    assert report.endswith("System check identified 3 issues.")
    assert format_messages([Warning("x.W001", "careful")]).endswith("identified 1 issue.")
