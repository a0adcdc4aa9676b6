"""Keeping client mistakes out of the server's error log.

uvicorn's ``websockets-sansio`` protocol logs a full traceback at ERROR when a client sends
a text frame that is not valid UTF-8, although it handles it correctly (closes with 1007).
A client can trigger that at will, so it would flood the log with tracebacks that point at
no server fault. ``ClientErrorFilter`` turns those records into one WARNING line without the
traceback; every other record passes untouched.
"""

from __future__ import annotations

import logging

# Messages uvicorn logs with a traceback for what is a client's protocol error.
CLIENT_ERRORS = frozenset({"Invalid UTF-8 sequence received from client."})
LOGGERS = ("uvicorn.error",)


class ClientErrorFilter(logging.Filter):
    """Downgrade records of ``CLIENT_ERRORS`` to a WARNING without ``exc_info``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in CLIENT_ERRORS:
            record.exc_info = None
            record.exc_text = None
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
            record.msg = f"{record.msg} Closed with 1007."
        return True


def quiet_client_errors() -> None:
    """Install ``ClientErrorFilter`` on the server loggers (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ClientErrorFilter) for f in logger.filters):
            logger.addFilter(ClientErrorFilter())


__all__ = ["CLIENT_ERRORS", "ClientErrorFilter", "quiet_client_errors"]
