"""The ``tidal`` group: finding the application, errors, and commands from elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from click.testing import CliRunner, Result

from tidal.cli import BUILTIN_COMMANDS, TidalGroup, main

Invoke = Callable[..., Result]
WriteProject = Callable[..., Path]

HELLO_APP = """
    from tidal import Tidal

    app = Tidal(apps=["tools"])
"""
TOOLS_COMMANDS = """
    import click

    from tidal.cli import pass_app


    @click.command()
    @click.argument("name")
    @pass_app
    def greet(app, name):
        \"\"\"Say hello from an installed app.\"\"\"
        click.echo(f"hello {name} from {app.apps[0].label}")


    commands = [greet]
"""


def test_help_lists_builtin_commands_without_an_app(invoke: Invoke, project: WriteProject) -> None:
    project({})
    result = invoke("--help")
    assert result.exit_code == 0
    for name in ("check", "new", "routes", "run", "shell"):
        assert f"  {name} " in result.output


def test_missing_app_is_a_clear_error(invoke: Invoke, project: WriteProject) -> None:
    project({})
    result = invoke("routes")
    assert result.exit_code == 1
    assert "Could not find the application" in result.output
    assert "--app module:attribute" in result.output
    assert "Traceback" not in result.output


def test_unimportable_app_module(invoke: Invoke, project: WriteProject) -> None:
    project({})
    result = invoke("--app", "no_such_module:app", "check")
    assert result.exit_code == 1
    assert "Cannot import 'no_such_module'" in result.output
    assert "Traceback" not in result.output


def test_app_attribute_must_be_a_tidal_app(invoke: Invoke, project: WriteProject) -> None:
    project({"web.py": "app = object()\n"})
    result = invoke("--app", "web:app", "check")
    assert result.exit_code == 1
    assert "not a Tidal application" in result.output


def test_improperly_configured_app_is_a_clear_error(invoke: Invoke, project: WriteProject) -> None:
    project({"app.py": 'from tidal import Tidal\napp = Tidal(apps=["not_installed"])\n'})
    result = invoke("check")
    assert result.exit_code == 1
    assert "Installed app 'not_installed' cannot be imported" in result.output
    assert "Traceback" not in result.output


def test_app_from_environment_variable(project: WriteProject) -> None:
    project({"web.py": "from tidal import Tidal\napplication = Tidal()\n"})
    result = CliRunner(env={"TIDAL_APP": "web:application"}).invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert "no issues" in result.output


def test_installed_apps_contribute_commands(invoke: Invoke, project: WriteProject) -> None:
    project(
        {
            "app.py": HELLO_APP,
            "tools/__init__.py": "",
            "tools/commands.py": TOOLS_COMMANDS,
        }
    )
    result = invoke("greet", "ada")
    assert result.exit_code == 0, result.output
    assert result.output == "hello ada from tools\n"
    assert "greet" in invoke("--help").output


def test_app_option_selects_the_app_for_app_commands(invoke: Invoke, project: WriteProject) -> None:
    project(
        {
            "web.py": HELLO_APP,
            "tools/__init__.py": "",
            "tools/commands.py": TOOLS_COMMANDS,
        }
    )
    assert "hello bob from tools" in invoke("--app", "web:app", "greet", "bob").output


def test_unknown_command_says_why_app_commands_were_not_searched(
    invoke: Invoke, project: WriteProject
) -> None:
    project({})
    result = CliRunner().invoke(main, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.output
    assert "Could not find the application" in result.output


def test_builtin_command_groups_from_other_parts(project: WriteProject) -> None:
    project(
        {
            "fakedb/__init__.py": "",
            "fakedb/commands.py": """
            import click

            @click.group()
            def db():
                \"\"\"Database commands.\"\"\"

            @db.command()
            def migrate():
                click.echo("migrated")
        """,
        }
    )
    group = TidalGroup(
        name="tidal", builtin_commands=("not_written_yet.commands:db", "fakedb.commands:db")
    )
    runner = CliRunner()
    result = runner.invoke(group, ["db", "migrate"])
    assert result.exit_code == 0, result.output
    assert result.output == "migrated\n"
    assert "db" in runner.invoke(group, ["--help"]).output


def test_broken_builtin_module_is_not_skipped(project: WriteProject) -> None:
    project({"brokendb.py": "import a_dependency_that_is_missing\n"})
    group = TidalGroup(name="tidal", builtin_commands=("brokendb:db",))
    result = CliRunner().invoke(group, ["db"])
    assert isinstance(result.exception, ModuleNotFoundError)


def test_main_hooks_in_the_builtin_command_groups() -> None:
    assert BUILTIN_COMMANDS == (
        "tidal.db.commands:db",
        "tidal.cli.collectstatic:collectstatic",
        "tidal.cli.demo:demo",
    )
    assert isinstance(main, TidalGroup)
    assert main.builtin_commands == BUILTIN_COMMANDS


def test_builtin_names_win_over_app_commands(invoke: Invoke, project: WriteProject) -> None:
    project(
        {
            "app.py": HELLO_APP,
            "tools/__init__.py": "",
            "tools/commands.py": """
            import click

            @click.command()
            def check():
                click.echo("shadowed")

            commands = [check]
        """,
        }
    )
    result = invoke("check")
    assert "shadowed" not in result.output
    assert isinstance(main.get_command(click.Context(main), "check"), click.Command)
