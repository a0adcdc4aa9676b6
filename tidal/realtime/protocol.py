"""The frames spoken on the multiplexed channel socket (``realtime_path``).

Every frame is one JSON object in one text message, with a ``type``. ``ref`` is chosen by
the client and echoed in the answer, so a client can match replies to requests.

Client -> server::

    {"type": "join", "ref": 1, "topic": "board:7", "payload": {...}, "since": "1712-0"}
    {"type": "leave", "ref": 2, "topic": "board:7"}
    {"type": "event", "ref": 3, "topic": "board:7", "event": "card:move", "payload": {...}}
    {"type": "heartbeat", "ref": 4}
    {"type": "auth", "csrf_token": "..."}

``since`` (optional) is the last event id the client saw on that topic: the events after it
are replayed before live ones. ``ref`` is optional on ``event``: without it, no reply.
``auth`` is sent first, before any join, when the page has a CSRF token: an ``authenticate``
hook that checks the session's CSRF token reads it; otherwise it is ignored.

Server -> client::

    {"type": "reply", "ref": 1, "topic": "board:7", "status": "ok", "payload": ...,
     "id": "1712-0", "gone": false}
    {"type": "event", "topic": "board:7", "id": "1713-0", "event": "card:moved", "data": ...}
    {"type": "presence", "topic": "board:7", "state": {"<key>": [{"ref": ..., ...meta}]}}
    {"type": "presence", "topic": "board:7", "joins": {...}, "leaves": {...}}
    {"type": "gone", "topic": "board:7", "id": "1790-0"}
    {"type": "left", "topic": "board:7", "reason": "You no longer have access."}
    {"type": "error", "ref": 3, "topic": "board:7", "code": "unknown-event", "message": ...}
    {"type": "heartbeat", "ref": 4}

* ``reply`` answers a ``join``, ``leave`` or ``event`` with a ref; ``status`` is ``"ok"``
  or ``"error"`` (refused by the application; ``payload`` is ``{"reason": ...}``). A join
  reply carries the cursor ``id`` the client should resume from and ``gone: true`` when the
  requested ``since`` is older than the kept history: the client must reload its state.
* ``event`` frames with an ``id`` are broadcasts (kept in history); without one they were
  pushed to this socket only.
* ``gone``: events of the topic were lost for this socket (the server lost its pub/sub
  connection for longer than the history covers); reload, then continue from ``id``.
* ``left``: the server took the socket out of the topic (its rights changed, see
  ``Channels.reauthorize_user``); it receives nothing more from it.
* ``error`` is a protocol problem (bad JSON, unknown topic or event, invalid payload); the
  socket stays open. Codes: ``bad-json``, ``bad-frame``, ``unknown-type``,
  ``unknown-topic``, ``not-joined``, ``already-joined``, ``unknown-event``,
  ``invalid-payload``, ``invalid-id``, ``unavailable``, ``server-error``.

Close codes: 1000 normal; 1001 idle (no frame for ``realtime_idle_timeout``); 1003 binary
frame; 1007 invalid UTF-8 (from the server); 1008 refused origin or authentication (a 403
before accept), rate limit, ``disconnect_user`` (signed out, password changed, account
disabled or deleted) or ``revoke_credential`` / an expired token; 1009 message too large;
1011 server error (or rights that could not be checked again: reconnect); 1012 service
restart (reconnect, possibly elsewhere); 1013 send queue overflow (the client did not read
fast enough; reconnect and resume).
"""

from __future__ import annotations

import os
from typing import Any

import msgspec

Ref = int | str | None
NULL = msgspec.Raw(b"null")


class ClientFrame(msgspec.Struct, frozen=True):
    """A frame from the client, before the payload is decoded by the handler's type."""

    type: str
    ref: int | str | None = None
    topic: str | None = None
    event: str | None = None
    payload: msgspec.Raw = NULL
    since: str | None = None


class Reply(msgspec.Struct, tag_field="type", tag="reply", omit_defaults=True):
    ref: int | str | None
    topic: str | None
    status: str
    payload: Any = None
    id: str | None = None
    gone: bool = False


class ErrorFrame(msgspec.Struct, tag_field="type", tag="error"):
    ref: int | str | None
    topic: str | None
    code: str
    message: str


def _encode_extra(value: Any) -> Any:
    if isinstance(value, (str, os.PathLike)):
        return str(value)
    raise TypeError(f"Cannot encode {type(value).__name__} objects as JSON; send plain data.")


_encoder = msgspec.json.Encoder(enc_hook=_encode_extra)
encode = _encoder.encode
decode_frame = msgspec.json.Decoder(ClientFrame).decode


def encode_payload(event: str, data: Any) -> bytes:
    """The stored form of a broadcast: ``{"event": ..., "data": ...}``."""
    return encode({"event": event, "data": data})


def event_prefix(topic: str) -> bytes:
    """The start of every broadcast frame of ``topic``, up to its id."""
    return b'{"type":"event","topic":' + encode(topic) + b',"id":"'


def event_frame(prefix: bytes, event_id: str, payload: bytes) -> bytes:
    """A broadcast frame, built by splicing the stored payload in (no re-encoding)."""
    return prefix + event_id.encode() + b'",' + payload[1:]


def push_frame(topic: str, event: str, data: Any) -> bytes:
    return encode({"type": "event", "topic": topic, "event": event, "data": data})


def error_frame(ref: Ref, topic: str | None, code: str, message: str) -> bytes:
    return encode(ErrorFrame(ref, topic, code, message))


def heartbeat_frame(ref: Ref) -> bytes:
    return encode({"type": "heartbeat", "ref": ref})


def gone_frame(topic: str, last_id: str) -> bytes:
    return encode({"type": "gone", "topic": topic, "id": last_id})


def text_message(frame: bytes) -> dict[str, Any]:
    """The ASGI message sending ``frame``; build it once and share it between sockets."""
    return {"type": "websocket.send", "text": frame.decode()}


class StoredEvent(msgspec.Struct):
    event: str
    data: msgspec.Raw


decode_stored = msgspec.json.Decoder(StoredEvent).decode


__all__ = [
    "NULL",
    "ClientFrame",
    "ErrorFrame",
    "Reply",
    "StoredEvent",
    "decode_frame",
    "decode_stored",
    "encode",
    "encode_payload",
    "error_frame",
    "event_frame",
    "event_prefix",
    "gone_frame",
    "heartbeat_frame",
    "push_frame",
    "text_message",
]
