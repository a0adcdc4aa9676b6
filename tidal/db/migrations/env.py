"""The Alembic environment script: Alembic runs it, and it hands over to Tidal's runner,
which configured everything (connection, models, filters) before calling Alembic."""

from typing import cast

from alembic import context
from alembic.runtime.environment import EnvironmentContext

from tidal.db.migrations.runner import run_environment

__all__: list[str] = []

# Alembic executes this file under a module name of its own; imported as part of the
# package (by tools listing modules), it does nothing.
if __name__ != "tidal.db.migrations.env":
    # ``alembic.context`` is a module proxying the EnvironmentContext Alembic is running.
    run_environment(cast(EnvironmentContext, context))
