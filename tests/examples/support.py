"""Importing docs/examples/ modules for the tests, the way the docs say to run them.

Each example is a module of its own folder (no package). By default it is imported with
``TIDAL_DEBUG=true`` in the environment, under its own name, once per test session:
importing one may register global things (a path converter), and worker processes of
``cpu_bound`` handlers import it again by name.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import pytest

from tidal import Tidal

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
APPS_PROJECT = EXAMPLES / "apps_project"
SECRET = "an-example-secret-key-for-tests-" + "x7Q!" * 10
DEBUG = {"TIDAL_DEBUG": "true"}

# Appended, not prepended: an example file must never shadow an installed package. Worker
# processes inherit sys.path, so they can import the examples too.
for folder in (EXAMPLES, APPS_PROJECT):
    if str(folder) not in sys.path:
        sys.path.append(str(folder))

_loaded: dict[tuple[str, tuple[tuple[str, str], ...]], ModuleType] = {}


def load(name: str, env: Mapping[str, str] = DEBUG) -> ModuleType:
    """Import docs/examples/<name>.py with exactly ``env`` as its TIDAL_* environment;
    with another environment than the default, under a private name beside the first."""
    key = (name, tuple(sorted(env.items())))
    if key not in _loaded:
        with pytest.MonkeyPatch.context() as patch:
            for variable in [v for v in os.environ if v.startswith("TIDAL_")]:
                patch.delenv(variable)
            for variable, value in env.items():
                patch.setenv(variable, value)
            if env == DEBUG:
                module = importlib.import_module(name)
            else:
                path = EXAMPLES / f"{name}.py"
                spec = importlib.util.spec_from_file_location(f"_example_{len(_loaded)}", path)
                assert spec is not None
                assert spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
        _loaded[key] = module
    return _loaded[key]


def app_of(name: str, env: Mapping[str, str] = DEBUG) -> Tidal:
    app: Tidal = load(name, env).app
    return app
