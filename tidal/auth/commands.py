"""``tidal createuser`` and ``tidal syncperms``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from tidal.cli.group import pass_app

if TYPE_CHECKING:
    from tidal.app import Tidal


async def create_user(
    app: Tidal,
    username: str,
    password: str | None,
    *,
    email: str = "",
    superuser: bool = False,
) -> int:
    """Create a user (staff and superuser with ``superuser``); returns its id. Without a
    password the account cannot log in with one."""
    from sqlalchemy import select

    from tidal.auth.authentication import get_hasher
    from tidal.auth.hashers import unusable_password
    from tidal.auth.models import User
    from tidal.db.lifecycle import database

    source = database(app)
    try:
        async with source.session() as db:
            taken = await db.execute(select(User.id).where(User.username == username))
            if taken.first() is not None:
                raise click.ClickException(f"The username {username!r} is taken.")
            encoded = (
                await get_hasher(app).hash_async(password) if password else unusable_password()
            )
            user = User(
                username=username,
                email=email,
                password=encoded,
                is_staff=superuser,
                is_superuser=superuser,
            )
            db.add(user)
            await db.flush()
            return user.id
    finally:
        await source.dispose()


@click.command("createuser")
@click.option("--username", prompt=True, help="The login name.")
@click.option("--email", default="", help="The e-mail address.")
@click.option("--superuser", is_flag=True, help="Staff, with every permission.")
@click.option(
    "--password",
    envvar="TIDAL_CREATEUSER_PASSWORD",
    help="The password (prompted for when not given; read from TIDAL_CREATEUSER_PASSWORD).",
)
@click.option("--no-password", is_flag=True, help="No usable password (log in otherwise).")
@click.option("--skip-validation", is_flag=True, help="Accept a weak password.")
@pass_app
def createuser(
    app: Tidal,
    username: str,
    email: str,
    superuser: bool,
    password: str | None,
    no_password: bool,
    skip_validation: bool,
) -> None:
    """Create a user account (an administrator with --superuser)."""
    from tidal.auth.config import get_config
    from tidal.auth.validators import validate_password

    if not no_password and password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if no_password:
        password = None
    if password is not None and not skip_validation:
        config = get_config(app)
        problems = validate_password(
            password,
            username=username,
            email=email,
            min_length=config.password_min_length,
            max_similarity=config.password_max_similarity,
        )
        if problems:
            raise click.ClickException(
                " ".join(problems) + " (--skip-validation accepts it anyway.)"
            )
    user_id = asyncio.run(create_user(app, username, password, email=email, superuser=superuser))
    kind = "Superuser" if superuser else "User"
    click.echo(f"{kind} {username!r} created (id {user_id}).")


@click.command("syncperms")
@pass_app
def syncperms(app: Tidal) -> None:
    """Create the view/add/change/delete permissions of every model (after migrate)."""
    from tidal.auth.permissions import sync_permissions

    async def run() -> list[str]:
        from tidal.db.lifecycle import database

        try:
            return await sync_permissions(app)
        finally:
            await database(app).dispose()

    created = asyncio.run(run())
    click.echo(f"{len(created)} permission(s) created.")


commands = [createuser, syncperms]

__all__ = ["commands", "create_user", "createuser", "syncperms"]
