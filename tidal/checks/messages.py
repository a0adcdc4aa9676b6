"""Check results with stable ids (``security.E001``) and a hint saying what to do."""

from __future__ import annotations

import enum

import msgspec


class Level(enum.IntEnum):
    """Severity; ERROR and above stop start-up."""

    INFO = 20
    WARNING = 30
    ERROR = 40


class CheckMessage(msgspec.Struct, frozen=True):
    """One finding of a start-up check."""

    level: Level
    id: str
    msg: str
    hint: str = ""
    obj: str = ""

    @property
    def is_serious(self) -> bool:
        return self.level >= Level.ERROR

    def __str__(self) -> str:
        where = f"{self.obj}: " if self.obj else ""
        hint = f"\n\tHINT: {self.hint}" if self.hint else ""
        return f"{where}({self.id}) {self.msg}{hint}"


def Info(id: str, msg: str, hint: str = "", obj: str = "") -> CheckMessage:
    return CheckMessage(Level.INFO, id, msg, hint, obj)


def Warning(id: str, msg: str, hint: str = "", obj: str = "") -> CheckMessage:
    return CheckMessage(Level.WARNING, id, msg, hint, obj)


def Error(id: str, msg: str, hint: str = "", obj: str = "") -> CheckMessage:
    return CheckMessage(Level.ERROR, id, msg, hint, obj)


__all__ = ["CheckMessage", "Error", "Info", "Level", "Warning"]
