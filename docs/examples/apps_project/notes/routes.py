"""The app's routes: a module-level ``router``, included into the project automatically."""

from tidal import HTMLResponse, Request, Router, render

from .models import Note, NoteStore

router = Router("/notes", name="notes")


@router.get("/")
async def list_notes(store: NoteStore) -> list[Note]:
    return list(store.notes.values())


@router.post("/", status_code=201)
async def add_note(text: str, store: NoteStore) -> Note:
    return store.add(text)


@router.get("/page")
async def notes_page(request: Request, store: NoteStore) -> HTMLResponse:
    return await render(request, "notes/list.html", {"notes": store.notes.values()})
