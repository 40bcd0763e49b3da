"""Read-model storage: one table of sessions per projection, its consumed offsets beside it.

`apply()` writes the rows and the offsets in ONE transaction (design rule 4), so a crash can
only repeat events, and repeated events are skipped by the per-session version guard.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import msgspec

from sessionstore import codec
from sessionstore.adapters import parked
from sessionstore.adapters.filters import SORTABLE, Filters, micros, where
from sessionstore.adapters.kafka import IncomingRecord
from sessionstore.config import CONNECT_TIMEOUT, eventstore_env, postgres_schema
from sessionstore.domain.session import Session
from sessionstore.readmodels.items import joined
from sessionstore.readmodels.progress import Batch, Parked, Record, advance_batch
from sessionstore.readmodels.projections import Projection
from sessionstore.readmodels.shared import Shared

log = logging.getLogger(__name__)


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Database(Protocol):
    """A SQLite file or a PostgreSQL schema; SQL uses `?` placeholders, types in DDL vary."""

    blob: str

    def transaction(self) -> AbstractContextManager[Cursor]: ...
    def reading(self) -> AbstractContextManager[Cursor]: ...
    def lock(self, cur: Cursor, table: str) -> None: ...
    def close(self) -> None: ...


PARTS = ("sessions", "offsets", "gaps", "parked")
COLUMNS = (
    "session_key",
    "application_id",
    "integration_id",
    "session_id",
    "version",
    "state",
    "profile",
    "coupon",
    "referral",
    "store_integration_id",
    "created_us",
    "aggregate",
    "document",
)


class ReadModelStore:
    def __init__(self, database: Database, projection: Projection, prefix: str = "") -> None:
        self.projection = projection
        self.table = f"{prefix}{projection.table}"
        self.database = database
        self._create()

    def close(self) -> None:
        self.database.close()

    def _create(self) -> None:
        blob, t = self.database.blob, self.table
        with self.database.transaction() as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {t}_sessions (session_key TEXT PRIMARY KEY, "
                "application_id BIGINT NOT NULL, integration_id TEXT NOT NULL, "
                "session_id BIGINT NOT NULL, version BIGINT NOT NULL, state TEXT NOT NULL, "
                "profile TEXT NOT NULL, coupon TEXT NOT NULL, referral TEXT NOT NULL, "
                "store_integration_id TEXT NOT NULL, created_us BIGINT NOT NULL, "
                f"aggregate {blob} NOT NULL, document {blob} NOT NULL, "
                # constraints, not named indexes: they move with the table when it is swapped in
                "UNIQUE (application_id, integration_id), UNIQUE (application_id, session_id))"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {t}_offsets (cluster TEXT NOT NULL, "
                "topic TEXT NOT NULL, kafka_partition INTEGER NOT NULL, "
                "next_offset BIGINT NOT NULL, PRIMARY KEY (cluster, topic, kafka_partition))"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {t}_gaps (session_key TEXT NOT NULL, "
                "expected BIGINT NOT NULL, received BIGINT NOT NULL, "
                "kafka_partition INTEGER NOT NULL, kafka_offset BIGINT NOT NULL, "
                "PRIMARY KEY (session_key, received))"
            )
            parked.create(cur, t, blob)

    # -- the consumer's side ----------------------------------------------------------------

    def positions(
        self, cluster: str, topic: str, partitions: Sequence[int] | None = None
    ) -> dict[int, int]:
        """Stored next offsets; none for a cluster never seen (a new embedded broker)."""
        with self.database.reading() as cur:
            cur.execute(
                f"SELECT kafka_partition, next_offset FROM {self.table}_offsets "
                "WHERE cluster = ? AND topic = ?",
                (cluster, topic),
            )
            stored = {int(p): int(o) for p, o in cur.fetchall()}
        return {p: o for p, o in stored.items() if partitions is None or p in partitions}

    def apply(self, records: Sequence[Record], cluster: str | None) -> Batch:
        """Fold the records into the stored sessions (see `apply_together`)."""
        (batch,) = apply_together([self], records, cluster)
        return batch

    def retry_parked(self) -> tuple[int, int]:
        """Apply the parked records again, in their order on Kafka; those that apply now (or
        were duplicates) are removed. Returns (removed, still parked)."""
        with self.database.transaction() as cur:
            waiting = parked.select(cur, self.table)
            parked.delete_all(cur, self.table)
            left = 0
            for cluster, group in itertools.groupby(waiting, key=lambda p: p.cluster):
                records = [_record(p.record) for p in group]
                batch = self.advance(cur, records, None, alone=True, parked_cluster=cluster)
                left += len(batch.parked)
        return len(waiting) - left, left

    def parked_count(self) -> int:
        with self.database.reading() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {self.table}_parked")
            return int(cur.fetchone()[0])

    def parked_records(self) -> list[parked.ParkedRecord]:
        with self.database.reading() as cur:
            return parked.select(cur, self.table)

    def advance(
        self,
        cur: Cursor,
        records: Sequence[Record],
        cluster: str | None,
        *,
        alone: bool,
        parked_cluster: str | None = None,
        shared: Shared | None = None,
    ) -> Batch:
        """The records folded into this projection's rows, inside the caller's transaction;
        `alone`: each session in a savepoint of its own, parking those that cannot be stored;
        `shared`: the work of the read models advanced together with this one."""
        shared = shared or Shared()
        stored = self._load(cur, _keys(records, shared), shared)
        batch = advance_batch(records, stored.get, shared.decode_event, shared.evolve)
        if alone:
            for key, session in list(batch.sessions.items()):
                self._write_alone(cur, batch, key, self._row(session, shared))
        elif batch.sessions:
            cur.executemany(self._upsert, [self._row(s, shared) for s in batch.sessions.values()])
        for (topic, partition), offset in batch.offsets.items() if cluster is not None else ():
            cur.execute(
                f"INSERT INTO {self.table}_offsets VALUES (?, ?, ?, ?) "
                "ON CONFLICT (cluster, topic, kafka_partition) "
                "DO UPDATE SET next_offset = excluded.next_offset",
                (cluster, topic, partition, offset),
            )
        for gap in batch.gaps:
            cur.execute(
                f"INSERT INTO {self.table}_gaps VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (session_key, received) DO NOTHING",
                (gap.session_key, gap.expected, gap.received, gap.partition, gap.offset),
            )
        parked.insert(cur, self.table, parked_cluster or cluster or "", batch.parked)
        return batch

    def _write_alone(self, cur: Cursor, batch: Batch, key: str, row: tuple[Any, ...]) -> None:
        """One session's row in its own savepoint: if it cannot be stored, park its records."""
        cur.execute("SAVEPOINT one_session")
        try:
            cur.execute(self._upsert, row)
        except Exception as error:
            cur.execute("ROLLBACK TO SAVEPOINT one_session")
            batch.unapply(key, f"cannot store its session: {error}")
        cur.execute("RELEASE SAVEPOINT one_session")

    def _load(self, cur: Cursor, keys: Sequence[str], shared: Shared) -> dict[str, Session]:
        """The stored states of these sessions, in one query."""
        if not keys:
            return {}
        cur.execute(
            f"SELECT session_key, aggregate FROM {self.table}_sessions "
            f"WHERE session_key IN ({', '.join('?' for _ in keys)})",
            keys,
        )
        return {str(key): shared.decode_state(_bytes(state)) for key, state in cur.fetchall()}

    def _row(self, session: Session, shared: Shared) -> tuple[Any, ...]:
        return (
            str(session.key),
            session.application_id,
            session.integration_id,
            session.session_id,
            session.version,
            session.state,
            session.profile_id,
            joined(session.coupon_codes),
            session.referral_code,
            session.store_integration_id or "",
            micros(session.created),
            shared.encode_state(session),
            codec.encode_document(self.projection.render(session)),
        )

    @property
    def _upsert(self) -> str:
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
        return (
            f"INSERT INTO {self.table}_sessions ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in COLUMNS)}) "
            f"ON CONFLICT (session_key) DO UPDATE SET {updates}"
        )

    # -- rebuilds ----------------------------------------------------------------------------

    def clear(self) -> None:
        with self.database.transaction() as cur:
            for part in PARTS:
                cur.execute(f"DELETE FROM {self.table}_{part}")

    def copy_offsets_from(self, other: ReadModelStore) -> None:
        """Start this (shadow) model where `other` (the live one) stands now."""
        with self.database.transaction() as cur:
            cur.execute(f"DELETE FROM {self.table}_offsets")
            cur.execute(f"INSERT INTO {self.table}_offsets SELECT * FROM {other.table}_offsets")

    def swap_in(self, shadow: ReadModelStore) -> bool:
        """Replace this live model by `shadow` in one transaction, if the shadow is caught up.

        Caught up: at or past every offset the live projector has stored. The live projector
        then goes on writing into the swapped-in tables; what it applies again is skipped by
        the version guard. False: not caught up yet, nothing changed.
        """
        with self.database.transaction() as cur:
            for part in PARTS:
                self.database.lock(cur, f"{self.table}_{part}")
            if not _caught_up(cur, f"{shadow.table}_offsets", f"{self.table}_offsets"):
                return False
            for part in PARTS:
                cur.execute(f"DROP TABLE {self.table}_{part}")
                cur.execute(f"ALTER TABLE {shadow.table}_{part} RENAME TO {self.table}_{part}")
        return True

    def documents_by_key(self) -> dict[str, bytes]:
        with self.database.reading() as cur:
            cur.execute(f"SELECT session_key, document FROM {self.table}_sessions")
            return {str(key): _bytes(document) for key, document in cur.fetchall()}

    # -- the readers' side ------------------------------------------------------------------

    def document(self, application_id: int, integration_id: str) -> bytes | None:
        return self._one(
            "application_id = ? AND integration_id = ?", (application_id, integration_id)
        )

    def document_by_session_id(self, application_id: int, session_id: int) -> bytes | None:
        return self._one("application_id = ? AND session_id = ?", (application_id, session_id))

    def documents(
        self,
        application_id: int,
        filters: Filters,
        *,
        sort: str = "created",
        skip: int = 0,
        page_size: int = 1000,
    ) -> tuple[list[bytes], bool]:
        """One page in the requested order, and whether more follow."""
        clause, params = where(application_id, filters)
        column = SORTABLE[sort.removeprefix("-")]
        direction = "DESC" if sort.startswith("-") else "ASC"
        with self.database.reading() as cur:
            cur.execute(
                f"SELECT document FROM {self.table}_sessions WHERE {clause} "
                f"ORDER BY {column} {direction}, session_id {direction} "
                "LIMIT ? OFFSET ?",
                (*params, page_size + 1, skip),
            )
            rows = [_bytes(r[0]) for r in cur.fetchall()]
        return rows[:page_size], len(rows) > page_size

    def versions(self) -> Iterator[tuple[str, int]]:
        with self.database.reading() as cur:
            cur.execute(f"SELECT session_key, version FROM {self.table}_sessions")
            rows = cur.fetchall()
        yield from ((str(k), int(v)) for k, v in rows)

    def _one(self, where: str, params: tuple[Any, ...]) -> bytes | None:
        with self.database.reading() as cur:
            cur.execute(f"SELECT document FROM {self.table}_sessions WHERE {where}", params)
            row = cur.fetchone()
        return _bytes(row[0]) if row else None


def apply_together(
    stores: Sequence[ReadModelStore], records: Sequence[Record], cluster: str | None
) -> list[Batch]:
    """Fold the records into each store's sessions: rows, offsets and parked records of every
    store in ONE transaction (the stores share one database). A batch that fails to store is
    stored again session by session, and the records of a session that cannot be stored are
    parked.

    `cluster` None: the records do not come from Kafka, and no offsets are stored.
    """
    database, shared = _shared_database(stores), Shared()
    try:
        with database.transaction() as cur:
            batches = [
                store.advance(cur, records, cluster, alone=False, shared=shared) for store in stores
            ]
    except Exception as error:
        names = "+".join(store.table for store in stores)
        log.warning("%s: storing a batch failed (%s); session by session", names, error)
        with database.transaction() as cur:
            batches = [
                store.advance(cur, records, cluster, alone=True, shared=shared) for store in stores
            ]
    for store, batch in zip(stores, batches, strict=True):
        for p in batch.parked:
            log.warning(
                "%s: parked %s[%d]@%d: %s",
                store.table,
                p.topic,
                p.partition,
                p.offset,
                p.reason,
                extra={"session": p.key},  # the session key (a UUID), in JSON logs
            )
    return batches


def positions_together(
    stores: Sequence[ReadModelStore], cluster: str, topic: str, partitions: Sequence[int]
) -> dict[int, int]:
    """Where stores consumed together continue: the lowest of their next offsets, for the
    partitions every one of them has a position in. A store further on skips what it applied
    already (the version guard; parked records and gaps are kept once)."""
    stored = [store.positions(cluster, topic, partitions) for store in stores]
    return {p: min(s[p] for s in stored) for p in partitions if all(p in s for s in stored)}


def _keys(records: Sequence[Record], shared: Shared) -> list[str]:
    """The sessions the records that decode belong to (those that do not are parked)."""
    keys: dict[str, None] = {}
    for record in records:
        with contextlib.suppress(msgspec.MsgspecError):
            keys[str(shared.decode_event(record.value).originator_id)] = None
    return list(keys)


def _shared_database(stores: Sequence[ReadModelStore]) -> Database:
    databases = {id(store.database): store.database for store in stores}
    if len(databases) != 1:
        raise ValueError("stores applied together must share one database")
    return next(iter(databases.values()))


def _record(p: Parked) -> IncomingRecord:
    return IncomingRecord(
        topic=p.topic,
        partition=p.partition,
        offset=p.offset,
        key=p.key.encode() if p.key else None,
        value=p.value,
        headers=(),
    )


def _caught_up(cur: Cursor, shadow: str, live: str) -> bool:
    cur.execute(
        f"SELECT COUNT(*) FROM {live} l LEFT JOIN {shadow} s ON s.cluster = l.cluster "
        "AND s.topic = l.topic AND s.kafka_partition = l.kafka_partition "
        "WHERE s.next_offset IS NULL OR s.next_offset < l.next_offset"
    )
    return int(cur.fetchone()[0]) == 0


def _bytes(value: Any) -> bytes:
    return bytes(value) if not isinstance(value, str) else value.encode()


def holds_readmodels(
    url: str, projections: Sequence[Projection], timeout: int = CONNECT_TIMEOUT
) -> bool:
    """Whether the database at `url` has the session tables of these projections, without
    creating anything (a mistyped SQLite path stays absent)."""
    env = eventstore_env(url)
    tables = [f"{p.table}_sessions" for p in projections]
    if "SQLITE_DBNAME" in env:
        path = env["SQLITE_DBNAME"]
        if not Path(path).is_file():
            return False
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        return all(table in names for table in tables)
    schema = postgres_schema(url) or "public"
    from sessionstore.adapters.postgres import connect

    with connect(url, timeout) as conn:
        found = conn.execute(
            "SELECT count(to_regclass(quote_ident(%s) || '.' || quote_ident(t))) "
            "FROM unnest(%s::text[]) AS t",
            (schema, tables),
        ).fetchone()
    return found is not None and found[0] == len(tables)


def open_database(url: str) -> Database:
    """`sqlite:///path` or `postgresql://...[?schema=name]`, as for the event store."""
    from sessionstore.adapters.postgres import PostgresDatabase
    from sessionstore.adapters.sqlite import SQLiteDatabase

    env = eventstore_env(url)
    if "SQLITE_DBNAME" in env:
        return SQLiteDatabase(env["SQLITE_DBNAME"])
    return PostgresDatabase(url.split("?")[0], postgres_schema(url))
