"""Blocking work off the event loop: sync handlers in threads, CPU work in processes."""

import hashlib
import threading
import time

from tidal import Tidal
from tidal.http.errors import BadRequest

app = Tidal()


@app.get("/report")
def report() -> dict[str, object]:
    # A plain ``def`` runs in a worker thread: blocking I/O here does not stall other requests.
    time.sleep(0.01)
    return {"in_main_thread": threading.current_thread() is threading.main_thread()}


@app.get("/stretch/{word}", cpu_bound=True)
def stretch(word: str, rounds: int = 1000) -> dict[str, str]:
    # cpu_bound=True runs it in a worker process: pure computation cannot block the loop.
    if rounds > 1_000_000:
        raise BadRequest("At most 1,000,000 rounds.")
    digest = word.encode()
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return {"word": word, "digest": digest.hex()[:16]}
