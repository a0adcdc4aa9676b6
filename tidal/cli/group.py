"""The ``tidal`` command group: the ``--app`` option, lazy application loading, and
commands contributed by other Tidal parts and by installed apps."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

import click

from tidal.cli.discovery import import_app, resolve_target
from tidal.exceptions import AppNotFound, ImproperlyConfigured

if TYPE_CHECKING:
    from tidal.app import Tidal

P = ParamSpec("P")
R = TypeVar("R")


class AppLoader:
    """Finds and imports the application once, on the first command that needs it.

    Commands that never touch the application (``tidal new``) never import it.
    """

    def __init__(self, target: str | None = None) -> None:
        self.target = target
        self._app: Tidal | None = None

    @property
    def import_string(self) -> str:
        """``module:attr`` of the application, as servers need it."""
        return resolve_target(self.target)

    def load(self) -> Tidal:
        if self._app is None:
            app = import_app(self.target)
            if not getattr(app, "__tidal_app__", False):
                raise AppNotFound(
                    f"{self.import_string} is {type(app).__name__!r}, not a Tidal "
                    "application. Point --app (or TIDAL_APP) at the Tidal(...) object."
                )
            self._app = cast("Tidal", app)
        return self._app


def pass_app(function: Callable[Concatenate[Tidal, P], R]) -> Callable[P, R]:
    """Decorate a click command to receive the loaded application as first argument.

    For commands of installed apps (``<app>/commands.py``)::

        @click.command()
        @pass_app
        def seed(app: Tidal) -> None: ...
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        loader = click.get_current_context().ensure_object(AppLoader)
        return function(loader.load(), *args, **kwargs)

    return wrapper


def _set_target(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(AppLoader).target = value


def load_command(spec: str) -> click.Command | None:
    """Import the command named by ``"package.module:attr"``; ``None`` if the module does
    not exist (a Tidal part not written or not installed). Any other error is raised."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            return None
        raise
    command = getattr(module, attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"{spec} is {command!r}, not a click command or group.")
    return command


class TidalGroup(click.Group):
    """A click group whose commands come from three places, in precedence order: its own
    (``run``, ``new``, ...), other Tidal parts (``builtin_commands``: ``"module:attr"``
    specs, imported only when needed), and the installed apps of the loaded application.

    ``AppNotFound`` and ``ImproperlyConfigured`` end the command with their message and
    exit status 1, never a traceback: they are the user's to fix, not Tidal bugs.
    """

    def __init__(self, *args: Any, builtin_commands: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.builtin_commands = tuple(builtin_commands)
        self._builtins_loaded: dict[str, click.Command] | None = None
        self.params.insert(
            0,
            click.Option(
                ["--app", "-a"],
                metavar="MODULE:ATTR",
                envvar="TIDAL_APP",
                show_envvar=True,
                expose_value=False,
                is_eager=True,  # before --help, so the help can list the app's commands
                callback=_set_target,
                help="The application to load; default: app:app or main:app in the current folder.",
            ),
        )

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        extra.setdefault("obj", AppLoader())
        return super().make_context(info_name, args, parent, **extra)

    def builtin_command_map(self) -> dict[str, click.Command]:
        if self._builtins_loaded is None:
            loaded = (load_command(spec) for spec in self.builtin_commands)
            self._builtins_loaded = {c.name: c for c in loaded if c is not None and c.name}
        return self._builtins_loaded

    def app_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        app = ctx.ensure_object(AppLoader).load()
        commands: dict[str, click.Command] = {}
        for config in app.apps:
            for command in config.commands:
                if command.name:
                    commands.setdefault(command.name, command)
        return commands

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        command = self.builtin_command_map().get(cmd_name)
        if command is not None:
            return command
        try:
            return self.app_commands(ctx).get(cmd_name)
        except AppNotFound as exc:
            ctx.meta["tidal.app_error"] = exc
            return None

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx)) | set(self.builtin_command_map())
        try:
            names |= set(self.app_commands(ctx))
        except AppNotFound:
            pass
        except Exception as exc:  # the help must still show; say why app commands are missing
            click.secho(f"Note: the application's commands are not listed: {exc}", err=True)
        return sorted(names)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            reason = ctx.meta.get("tidal.app_error")
            if reason is not None:
                raise click.UsageError(
                    f"{exc.message} The application's own commands were not searched: {reason}",
                    ctx,
                ) from None
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (AppNotFound, ImproperlyConfigured) as exc:
            raise click.ClickException(str(exc)) from None


__all__ = ["AppLoader", "TidalGroup", "load_command", "pass_app"]
