"""The default permissions: view, add, change and delete for every model of every
installed app, named ``"<app label>.<action>_<model>"`` (``"board.change_card"``, with the
model's class name in snake_case: ``CardComment`` gives ``"board.view_card_comment"``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tidal.auth.models import Permission
from tidal.db.models import models_of, table_name_for

if TYPE_CHECKING:
    from tidal.app import Tidal

ACTIONS = ("view", "add", "change", "delete")


def default_permissions(app: Tidal) -> dict[str, str]:
    """``{codename: human name}`` for every model of ``app``'s installed apps."""
    found: dict[str, str] = {}
    for config in app.apps:
        for model in models_of(config):
            model_name = table_name_for(model.__name__)
            label = model_name.replace("_", " ")
            for action in ACTIONS:
                found[f"{config.label}.{action}_{model_name}"] = f"Can {action} {label}"
    return found


async def sync_permissions(app: Tidal, db: AsyncSession | None = None) -> list[str]:
    """Create the default permissions that do not exist yet; returns the new codenames.
    Run it after ``tidal db migrate`` (``tidal syncperms`` does); it never deletes."""
    if db is None:
        from tidal.db.lifecycle import database

        async with database(app).session() as session:
            return await sync_permissions(app, session)
    wanted = default_permissions(app)
    existing = set((await db.execute(select(Permission.codename))).scalars())
    created = [codename for codename in wanted if codename not in existing]
    db.add_all(Permission(codename=codename, name=wanted[codename]) for codename in created)
    await db.flush()
    return created


__all__ = ["ACTIONS", "default_permissions", "sync_permissions"]
