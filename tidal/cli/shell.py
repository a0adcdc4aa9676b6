"""``tidal shell``: a Python console with the started application, where ``await`` works
at the top level.

The console reads lines on the main thread; coroutines run on an event loop in a
background thread, the same loop that ran the application's start-up, so connections and
other loop-bound objects made at start-up stay usable. Piped input works too
(``echo 'print(app)' | tidal shell``).
"""

from __future__ import annotations

import ast
import asyncio
import code
import concurrent.futures
import inspect
import sys
import threading
import traceback
import types
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tidal.cli.group import AppLoader

if TYPE_CHECKING:
    from tidal.app import Tidal

T = TypeVar("T")


class LoopThread:
    """An event loop running forever in a daemon thread, fed coroutines from other threads."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="tidal-shell-loop", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and wait for it; Ctrl+C cancels it."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise
        except concurrent.futures.CancelledError:
            raise KeyboardInterrupt from None

    def close(self) -> None:
        if self._thread.is_alive():
            self.run(self.loop.shutdown_asyncgens())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()
        self.loop.close()


class AsyncConsole(code.InteractiveConsole):
    """``code.InteractiveConsole`` compiling with top-level ``await`` allowed; code that
    awaits becomes a coroutine, which runs on ``runner``'s loop.

    Args:
        namespace: the console's globals.
        runner: the loop thread coroutines run on.
        prompts: show ``>>>`` prompts (off for piped input, like ``python < file``).
    """

    def __init__(
        self, namespace: dict[str, Any], runner: LoopThread, *, prompts: bool = True
    ) -> None:
        super().__init__(namespace, filename="<tidal shell>")
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self.runner = runner
        self.prompts = prompts
        self.failed = False

    def raw_input(self, prompt: str = "") -> str:
        return input(prompt if self.prompts else "")

    def runcode(self, code: types.CodeType) -> None:
        try:
            result = types.FunctionType(code, self.locals)()
            if inspect.iscoroutine(result):
                self.runner.run(result)
        except SystemExit:
            raise
        except BaseException:  # as Python's own console: report and carry on, even Ctrl+C
            self.showtraceback()

    def showtraceback(self) -> None:
        """Print the traceback of the user's code, without the console's own frames."""
        self.failed = True
        exc_type, exc, tb = sys.exc_info()
        sys.last_type, sys.last_value, sys.last_traceback = exc_type, exc, tb
        while tb is not None and tb.tb_frame.f_code.co_filename in _INTERNAL_FILES:
            tb = tb.tb_next
        self.write("".join(traceback.format_exception(exc_type, exc, tb)))

    def run_source(self, source: str) -> bool:
        """Run a whole program (``tidal shell -c``); False when it raised."""
        try:
            compiled = compile(
                source, "<tidal shell -c>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
            )
        except SyntaxError:
            self.showsyntaxerror()
            return False
        self.runcode(compiled)
        return not self.failed


_INTERNAL_FILES = {__file__, concurrent.futures._base.__file__}


def shell_namespace(app: Tidal) -> dict[str, Any]:
    import tidal

    return {
        "__name__": "__console__",
        "__doc__": None,
        "app": app,
        "settings": app.settings,
        "asyncio": asyncio,
        "tidal": tidal,
    }


def enable_completion(namespace: dict[str, Any]) -> None:
    try:
        import readline
        import rlcompleter
    except ImportError:  # pragma: no cover - platforms without readline
        return
    readline.set_completer(rlcompleter.Completer(namespace).complete)
    readline.parse_and_bind("tab: complete")


@click.command()
@click.option("--command", "-c", "source", default=None, help="Run this code and exit.")
@click.pass_obj
def shell(loader: AppLoader, source: str | None) -> None:
    """Open a Python console with the app started; `await` works.

    `app` (started up: its lifespan has run) and `settings` are ready to use.

    \b
      tidal shell
      >>> await some_coroutine()
      tidal shell -c "print(app.settings.debug)"
    """
    app = loader.load()
    runner = LoopThread()
    runner.start()
    try:
        runner.run(app.startup())
        try:
            namespace = shell_namespace(app)
            interactive = sys.stdin.isatty()
            console = AsyncConsole(namespace, runner, prompts=interactive)
            if source is not None:
                ok = console.run_source(source)
            else:
                if interactive:
                    enable_completion(namespace)
                banner = (
                    f"Tidal shell (Python {sys.version.split()[0]}). Ready: app (started), "
                    "settings, asyncio.\nTop-level `await` works. Ctrl+D to exit."
                )
                console.interact(banner=banner if interactive else "", exitmsg="")
                ok = True
        finally:
            runner.run(app.shutdown())
    finally:
        runner.close()
    if not ok:
        raise SystemExit(1)


__all__ = ["AsyncConsole", "LoopThread", "shell"]
