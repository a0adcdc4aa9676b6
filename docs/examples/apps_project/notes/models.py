"""Imported before the app's routes, so declarations here exist when handlers compile."""

import msgspec


class Note(msgspec.Struct):
    id: int
    text: str


class NoteStore:
    def __init__(self) -> None:
        self.notes: dict[int, Note] = {}

    def add(self, text: str) -> Note:
        note = Note(len(self.notes) + 1, text)
        self.notes[note.id] = note
        return note
