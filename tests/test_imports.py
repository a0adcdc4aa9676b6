"""``import tidal`` stays light: no database, template, Redis or CLI machinery."""

import json
import subprocess
import sys

HEAVY = (
    "sqlalchemy",
    "alembic",
    "jinja2",
    "redis",
    "asyncpg",
    "aiosqlite",
    "click",
    "argon2",
    "uvicorn",
)


def test_import_tidal_is_light() -> None:
    code = "import json, sys, tidal; print(json.dumps(sorted(sys.modules)))"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(output)
    heavy = sorted({m.split(".")[0] for m in loaded} & set(HEAVY))
    assert heavy == []
