"""The table of the ``tidal.sessions`` app: ``tidal_session``, one row per live session."""

from __future__ import annotations

import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from tidal.db.models import Model


class SessionRecord(Model):
    """One session, as ``DatabaseSessionStore`` keeps it.

    ``id_hash`` is the SHA-256 of the id the cookie holds, never the id itself, so a leaked
    table or backup logs no one in. ``data`` is the encoded record ``HttpSession`` reads.
    ``expires_at`` is indexed because expired rows are deleted in bulk.
    """

    __tablename__ = "tidal_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime.datetime] = mapped_column(index=True)


__all__ = ["SessionRecord"]
