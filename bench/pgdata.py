"""The PostgreSQL data every DB workload reads: ``world`` (10,000 rows) and ``fortune``.

Tables follow TechEmpower's schema (``world(id, randomnumber)``, ``fortune(id, message)``)
in a database of their own, ``bench``, so benchmark updates never touch another
database on the shared server. :func:`ensure` is idempotent and cheap when the data is
already there; the runner calls it before any DB workload, and
``python -m bench setup-db`` runs it by hand.

The harness reaches the database with psycopg (sync); peers get the URL from the
environment variable ``BENCH_DATABASE_URL`` (and the pool size from
``BENCH_DB_POOL_SIZE``), which the runner sets for every server it starts.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable
from typing import Any

ADMIN_URL_ENV = "BENCH_ADMIN_DATABASE_URL"
URL_ENV = "BENCH_DATABASE_URL"
POOL_SIZE_ENV = "BENCH_DB_POOL_SIZE"

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench"
DATABASE = "bench"
WORLD_ROWS = 10_000
# Every peer opens at most this many connections: Tidal's default pool size (Django's
# sync worker needs only one).
POOL_SIZE = 10

# TechEmpower's fortune rows: the spec's data, including the ones that test escaping.
FORTUNES: tuple[tuple[int, str], ...] = (
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. \u2014 Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af"),
)
# Added by every fortunes handler at request time, before sorting.
ADDED_FORTUNE = (0, "Additional fortune added at request time.")


def database_url() -> str:
    return os.environ.get(URL_ENV, DEFAULT_URL)


def admin_url() -> str:
    return os.environ.get(ADMIN_URL_ENV, DEFAULT_ADMIN_URL)


def peer_environment() -> dict[str, str]:
    """Variables every peer server gets: where the data is and how many connections.

    ``TIDAL_BENCH_DATABASE_URL`` is what the data layer's peers (``bench/peers/db_*``)
    read; it names the same database.
    """
    url = database_url()
    return {
        URL_ENV: url,
        POOL_SIZE_ENV: str(POOL_SIZE),
        "TIDAL_BENCH_DATABASE_URL": url.replace("postgresql://", "postgresql+asyncpg://", 1),
    }


def expected_fortunes() -> list[tuple[int, str]]:
    """What a correct fortunes page lists, in order: rows plus the added one, by message."""
    return sorted([*FORTUNES, ADDED_FORTUNE], key=lambda row: row[1])


def _connect(url: str, **kwargs: Any) -> Any:
    import psycopg  # a bench dependency, imported late so `bench list` needs no driver

    return psycopg.connect(url, connect_timeout=5, **kwargs)


def ensure(*, rows: int = WORLD_ROWS) -> str:
    """Create the database and tables if missing and fill them; returns what was done."""
    done: list[str] = []
    with _connect(admin_url(), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if exists.fetchone() is None:
            admin.execute(f"CREATE DATABASE {DATABASE}")
            done.append(f"created database {DATABASE}")
        # Commits don't wait for the WAL flush, as in TechEmpower's PostgreSQL setup: the
        # updates workload then measures the framework, not this VM's fsync latency.
        # Set on this database only; the shared server's defaults stay as they are.
        setting = admin.execute(
            "SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
            " WHERE d.datname = %s AND 'synchronous_commit=off' = ANY(s.setconfig)",
            (DATABASE,),
        )
        if setting.fetchone() is None:
            admin.execute(f"ALTER DATABASE {DATABASE} SET synchronous_commit = off")
            done.append("set synchronous_commit = off for the bench database")
    with _connect(database_url()) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS world ("
            " id integer NOT NULL PRIMARY KEY,"
            " randomnumber integer NOT NULL DEFAULT 0)"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS fortune ("
            " id integer NOT NULL PRIMARY KEY,"
            " message varchar(2048) NOT NULL)"
        )
        (count,) = conn.execute("SELECT count(*) FROM world").fetchone()
        if count != rows:
            conn.execute("DELETE FROM world")
            rng = random.Random(0)
            with conn.cursor() as cur, cur.copy("COPY world (id, randomnumber) FROM STDIN") as cp:
                for i in range(1, rows + 1):
                    cp.write_row((i, rng.randint(1, 10_000)))
            done.append(f"filled world with {rows} rows")
        current = conn.execute("SELECT id, message FROM fortune ORDER BY id").fetchall()
        if [tuple(r) for r in current] != list(FORTUNES):
            conn.execute("DELETE FROM fortune")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO fortune (id, message) VALUES (%s, %s)", FORTUNES)
            done.append(f"filled fortune with {len(FORTUNES)} rows")
        conn.commit()
    return "; ".join(done) or "already set up"


def vacuum() -> None:
    """Reclaim the dead rows left by update workloads so every run starts alike."""
    with _connect(database_url(), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE world")
        conn.execute("VACUUM ANALYZE fortune")


class PgWorld:
    """Read access to ``world`` for the verifier (a lazily opened psycopg connection)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self._conn: Any = None

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = _connect(self.url or database_url(), autocommit=True)
        return self._conn

    def fetch(self, ids: Iterable[int]) -> dict[int, int]:
        rows = self._connection().execute(
            "SELECT id, randomnumber FROM world WHERE id = ANY(%s)", (list(set(ids)),)
        )
        return {int(i): int(n) for i, n in rows.fetchall()}

    def snapshot(self) -> dict[int, int]:
        rows = self._connection().execute("SELECT id, randomnumber FROM world")
        return {int(i): int(n) for i, n in rows.fetchall()}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


__all__ = [
    "ADDED_FORTUNE",
    "FORTUNES",
    "POOL_SIZE",
    "WORLD_ROWS",
    "PgWorld",
    "database_url",
    "ensure",
    "expected_fortunes",
    "peer_environment",
    "vacuum",
]
