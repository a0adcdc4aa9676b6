"""Dependencies: ``Depends`` providers with clean-up, per-request caching and route guards."""

from collections.abc import AsyncIterator
from typing import Annotated

from tidal import Depends, Header, Tidal
from tidal.http.errors import Conflict, Forbidden

app = Tidal()
events: list[str] = []


class Transaction:
    def __init__(self) -> None:
        self.rows: list[str] = []


class DuplicateRow(Exception):
    pass


async def transaction() -> AsyncIterator[Transaction]:
    """Code after ``yield`` runs once the handler is done, before the response is sent."""
    events.append("begin")
    tx = Transaction()
    try:
        yield tx
    except DuplicateRow:
        events.append("rollback")
        raise Conflict("A card with this title already exists.") from None
    except Exception:
        events.append("rollback")
        raise
    else:
        events.append(f"commit {tx.rows}")


def current_user(x_user: Annotated[str | None, Header()] = None) -> str:
    events.append("current_user")
    if x_user is None:
        raise Forbidden("Send an X-User header.")
    return x_user


def require_admin(user: Annotated[str, Depends(current_user)]) -> None:
    if user != "admin":
        raise Forbidden("Admins only.")


@app.post("/cards")
async def add_card(
    title: str,
    tx: Annotated[Transaction, Depends(transaction)],
    user: Annotated[str, Depends(current_user)],
) -> dict[str, str]:
    if title == "todo":
        raise DuplicateRow(title)
    tx.rows.append(title)
    return {"title": title, "by": user}


# A guard runs before the handler and its value is dropped. current_user runs once per
# request although both the guard and the handler ask for it.
@app.delete("/cards/{card_id:int}", dependencies=[require_admin])
async def delete_card(card_id: int, user: Annotated[str, Depends(current_user)]) -> None:
    events.append(f"deleted {card_id} by {user}")
