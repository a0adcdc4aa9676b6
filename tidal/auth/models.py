"""Users, groups, permissions and API tokens.

Tables are prefixed ``auth_`` so they never clash with a project's own ``user`` table.
A permission is one dotted string, ``"<app label>.<action>_<model>"`` such as
``"board.change_card"``; ``sync_permissions`` creates view/add/change/delete for every model.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Column, ForeignKey, String, Table, select, union
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tidal.db.models import Model, utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

user_groups = Table(
    "auth_user_groups",
    Model.metadata,
    Column("user_id", ForeignKey("auth_user.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("auth_group.id", ondelete="CASCADE"), primary_key=True),
)
group_permissions = Table(
    "auth_group_permissions",
    Model.metadata,
    Column("group_id", ForeignKey("auth_group.id", ondelete="CASCADE"), primary_key=True),
    Column("permission_id", ForeignKey("auth_permission.id", ondelete="CASCADE"), primary_key=True),
)
user_permissions = Table(
    "auth_user_permissions",
    Model.metadata,
    Column("user_id", ForeignKey("auth_user.id", ondelete="CASCADE"), primary_key=True),
    Column("permission_id", ForeignKey("auth_permission.id", ondelete="CASCADE"), primary_key=True),
)


class BaseUser:
    """What ``User`` and ``AnonymousUser`` share. Annotate a handler parameter
    ``user: BaseUser`` to get either; ``user: User`` requires a logged-in user."""

    is_authenticated: ClassVar[bool] = False

    async def get_permissions(self) -> frozenset[str]:
        return frozenset()

    async def has_perm(self, perm: str) -> bool:
        """Whether the user holds ``perm`` (``"board.change_card"``) directly or through a
        group. Superusers hold every permission; inactive users none."""
        if not getattr(self, "is_active", False):
            return False
        if getattr(self, "is_superuser", False):
            return True
        return perm in await self.get_permissions()

    async def has_perms(self, perms: list[str] | tuple[str, ...]) -> bool:
        for perm in perms:
            if not await self.has_perm(perm):
                return False
        return True


class AnonymousUser(BaseUser):
    """The user of a request without valid credentials: no id, no permissions."""

    id: None = None
    username = ""
    email = ""
    is_active = False
    is_staff = False
    is_superuser = False

    def __repr__(self) -> str:
        return "<AnonymousUser>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnonymousUser)

    def __hash__(self) -> int:
        return 1


class Permission(Model):
    __tablename__ = "auth_permission"

    id: Mapped[int] = mapped_column(primary_key=True)
    codename: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")

    def __str__(self) -> str:
        return self.codename


class Group(Model):
    __tablename__ = "auth_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(150), unique=True)
    permissions: Mapped[list[Permission]] = relationship(secondary=group_permissions)

    def __str__(self) -> str:
        return self.name


class User(BaseUser, Model):
    __tablename__ = "auth_user"
    __allow_unmapped__ = True

    is_authenticated: ClassVar[bool] = True

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(254), default="", index=True)
    password: Mapped[str] = mapped_column(String(255), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    is_staff: Mapped[bool] = mapped_column(default=False)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    last_login: Mapped[datetime.datetime | None] = mapped_column(default=None)
    date_joined: Mapped[datetime.datetime] = mapped_column(default=utcnow)

    groups: Mapped[list[Group]] = relationship(secondary=user_groups)
    user_permissions: Mapped[list[Permission]] = relationship(secondary=user_permissions)

    # Not columns: the per-instance permission cache and where to load it from.
    _perm_cache: frozenset[str] | None = None
    _auth_database: Any = None

    def __str__(self) -> str:
        return self.username

    async def get_permissions(self, db: AsyncSession | None = None) -> frozenset[str]:
        """Every permission the user holds directly or through groups: one query, then
        cached on this object (call ``clear_permission_cache()`` after changing them)."""
        if self._perm_cache is not None:
            return self._perm_cache
        query = permissions_query(self.id)
        if db is None:
            from sqlalchemy.ext.asyncio import async_object_session

            db = async_object_session(self)
        if db is not None:
            found = frozenset((await db.execute(query)).scalars())
        else:
            from tidal.db.lifecycle import database

            source = self._auth_database or database()
            async with source.session() as session:
                found = frozenset((await session.execute(query)).scalars())
        self._perm_cache = found
        return found

    def clear_permission_cache(self) -> None:
        self._perm_cache = None


def permissions_query(user_id: int) -> Any:
    """The codenames granted to ``user_id``, directly or through its groups."""
    direct = select(user_permissions.c.permission_id).where(user_permissions.c.user_id == user_id)
    via_groups = (
        select(group_permissions.c.permission_id)
        .join(user_groups, user_groups.c.group_id == group_permissions.c.group_id)
        .where(user_groups.c.user_id == user_id)
    )
    ids = union(direct, via_groups).subquery()
    return select(Permission.codename).where(Permission.id.in_(select(ids.c.permission_id)))


class APIToken(Model):
    """A bearer token for non-browser clients. Only the SHA-256 of the token is stored:
    the token itself is shown once, at creation (``create_token``)."""

    __tablename__ = "auth_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime.datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()

    def is_usable(self, now: datetime.datetime | None = None) -> bool:
        now = now or utcnow()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now


def hash_token(token: str) -> str:
    """The stored form of an API token (tokens are 256 random bits, so a fast hash is
    enough: there is nothing to brute-force)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


__all__ = [
    "APIToken",
    "AnonymousUser",
    "BaseUser",
    "Group",
    "Permission",
    "User",
    "group_permissions",
    "hash_token",
    "permissions_query",
    "user_groups",
    "user_permissions",
]
