"""``tidal.auth``: users, groups, permissions, password hashing (Argon2id), login and
logout, API tokens and handler guards. Install it with ``Tidal(apps=["tidal.auth", ...])``;
see docs/topics/auth.md.

Importing this package is cheap; the names below are imported on first access (the
models load SQLAlchemy).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tidal.auth.config import AuthConfig as AuthConfig
from tidal.auth.config import configure as configure

if TYPE_CHECKING:
    from tidal.auth.authentication import authenticate as authenticate
    from tidal.auth.authentication import create_token as create_token
    from tidal.auth.authentication import get_user as get_user
    from tidal.auth.authentication import login as login
    from tidal.auth.authentication import logout as logout
    from tidal.auth.authentication import revoke_token as revoke_token
    from tidal.auth.authentication import set_password as set_password
    from tidal.auth.authentication import update_session_hash as update_session_hash
    from tidal.auth.guards import login_required as login_required
    from tidal.auth.guards import permission_required as permission_required
    from tidal.auth.guards import staff_required as staff_required
    from tidal.auth.hashers import PasswordHasher as PasswordHasher
    from tidal.auth.models import AnonymousUser as AnonymousUser
    from tidal.auth.models import APIToken as APIToken
    from tidal.auth.models import BaseUser as BaseUser
    from tidal.auth.models import Group as Group
    from tidal.auth.models import Permission as Permission
    from tidal.auth.models import User as User
    from tidal.auth.permissions import sync_permissions as sync_permissions
    from tidal.auth.validators import validate_password as validate_password

_LAZY: dict[str, str] = {
    "APIToken": "tidal.auth.models",
    "AnonymousUser": "tidal.auth.models",
    "BaseUser": "tidal.auth.models",
    "Group": "tidal.auth.models",
    "PasswordHasher": "tidal.auth.hashers",
    "Permission": "tidal.auth.models",
    "User": "tidal.auth.models",
    "authenticate": "tidal.auth.authentication",
    "create_token": "tidal.auth.authentication",
    "get_user": "tidal.auth.authentication",
    "login": "tidal.auth.authentication",
    "login_required": "tidal.auth.guards",
    "logout": "tidal.auth.authentication",
    "permission_required": "tidal.auth.guards",
    "revoke_token": "tidal.auth.authentication",
    "set_password": "tidal.auth.authentication",
    "staff_required": "tidal.auth.guards",
    "sync_permissions": "tidal.auth.permissions",
    "update_session_hash": "tidal.auth.authentication",
    "validate_password": "tidal.auth.validators",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tidal.auth' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "APIToken",
    "AnonymousUser",
    "AuthConfig",
    "BaseUser",
    "Group",
    "PasswordHasher",
    "Permission",
    "User",
    "authenticate",
    "configure",
    "create_token",
    "get_user",
    "login",
    "login_required",
    "logout",
    "permission_required",
    "revoke_token",
    "set_password",
    "staff_required",
    "sync_permissions",
    "update_session_hash",
    "validate_password",
]
