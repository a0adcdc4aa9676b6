"""Users, permissions, hashing and the default permissions."""

from __future__ import annotations

import pytest

import tidal.db
from tidal import Tidal
from tidal.auth import AnonymousUser, PasswordHasher, sync_permissions
from tidal.auth.config import AuthConfig
from tidal.auth.hashers import unusable_password
from tidal.auth.models import Group, Permission, User
from tidal.auth.permissions import default_permissions

from .conftest import FAST, make_user


def test_hasher_is_argon2id_and_verifies() -> None:
    hasher = PasswordHasher(FAST)
    encoded = hasher.hash("s3cret passphrase")
    assert encoded.startswith("$argon2id$")
    assert hasher.verify(encoded, "s3cret passphrase")
    assert not hasher.verify(encoded, "wrong")
    assert not hasher.verify("not a hash", "wrong")
    assert not hasher.verify(unusable_password(), "anything")
    assert not hasher.needs_rehash(encoded)
    stronger = PasswordHasher(AuthConfig(**{**FAST.__dict__, "argon2_memory_cost": 2048}))
    assert stronger.needs_rehash(encoded)
    assert stronger.verify(encoded, "s3cret passphrase")  # old hashes still verify


async def test_anonymous_user_has_no_permissions() -> None:
    anonymous = AnonymousUser()
    assert not anonymous.is_authenticated
    assert not await anonymous.has_perm("blog.view_post")
    assert anonymous == AnonymousUser()


async def test_has_perm(app: Tidal) -> None:
    await make_user(app)
    await make_user(app, "root", is_superuser=True)
    await make_user(app, "gone", is_superuser=True, is_active=False)
    async with tidal.db.session(app) as db:
        view = Permission(codename="blog.view_post")
        change = Permission(codename="blog.change_post")
        delete = Permission(codename="blog.delete_post")
        group = Group(name="editors", permissions=[change])
        db.add_all([view, change, delete, group])
        await db.flush()
        ada = await db.get(User, 1)
        assert ada is not None
        await db.refresh(ada, ["groups", "user_permissions"])
        ada.user_permissions.append(view)
        ada.groups.append(group)
    async with tidal.db.session(app) as db:
        ada = await db.get(User, 1)
        assert ada is not None
        assert await ada.get_permissions() == {"blog.view_post", "blog.change_post"}
        assert await ada.has_perm("blog.view_post")
        assert await ada.has_perm("blog.change_post")
        assert not await ada.has_perm("blog.delete_post")
        assert await ada.has_perms(["blog.view_post", "blog.change_post"])
        assert not await ada.has_perms(["blog.view_post", "blog.delete_post"])
        root = await db.get(User, 2)
        gone = await db.get(User, 3)
        assert root is not None
        assert gone is not None
        assert await root.has_perm("anything.at_all")
        assert not await gone.has_perm("blog.view_post")


async def test_sync_permissions(app: Tidal) -> None:
    wanted = default_permissions(app)
    assert "auth.change_user" in wanted
    assert "auth.view_api_token" in wanted
    assert wanted["auth.add_group"] == "Can add group"
    created = await sync_permissions(app)
    assert sorted(created) == sorted(wanted)
    assert len(created) == 4 * 4  # four models, four actions
    assert await sync_permissions(app) == []


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/boards/1?x=2", "/boards/1?x=2"),
        ("", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\nLocation: x", "/"),
    ],
)
def test_safe_next(target: str, expected: str) -> None:
    from tidal.auth.views import safe_next

    assert safe_next(target, "/") == expected
