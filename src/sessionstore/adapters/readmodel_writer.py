"""The projector's side of a projection's tables: fold consumed records into the rows and
store the offsets beside them in ONE transaction (design rule 4), so a crash can only repeat
events, and repeated events are skipped by the per-session version guard."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

from sessionstore.adapters import parked
from sessionstore.adapters.kafka import IncomingRecord
from sessionstore.adapters.readmodel_queries import ReadModelQueries
from sessionstore.adapters.readmodel_tables import (
    Cursor,
    Database,
    Row,
    Tables,
    columns,
)
from sessionstore.domain.session import Session
from sessionstore.readmodels.progress import Batch, Parked, Record, advance_batch
from sessionstore.readmodels.projections import Projection
from sessionstore.readmodels.shared import Shared, session_keys

log = logging.getLogger(__name__)


class ReadModelWriter:
    """Keeps one projection's tables (created if missing) from consumed records."""

    def __init__(self, database: Database, projection: Projection, prefix: str = "") -> None:
        self.projection = projection
        self.database = database
        self.tables = Tables(database, projection, prefix)
        self.table = self.tables.name
        self.tables.create()
        self.queries = ReadModelQueries(database, projection, prefix)  # of the same tables

    def close(self) -> None:
        self.database.close()

    def positions(
        self, cluster: str, topic: str, partitions: Sequence[int] | None = None
    ) -> dict[int, int]:
        """Stored next offsets; none for a cluster never seen (a new embedded broker)."""
        return self.tables.positions(cluster, topic, partitions)

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
        stored = self.tables.stored_states(cur, session_keys(records, shared), shared.decode_state)
        batch = advance_batch(records, stored.get, shared)
        if alone:
            for key, session in list(batch.sessions.items()):
                self._write_alone(cur, batch, key, self._row(session, shared))
        elif batch.sessions:
            cur.executemany(
                self.tables.upsert, [self._row(s, shared) for s in batch.sessions.values()]
            )
        if cluster is not None:
            self.tables.store_offsets(cur, cluster, batch.offsets)
        self.tables.store_gaps(cur, batch.gaps)
        parked.insert(cur, self.table, parked_cluster or cluster or "", batch.parked)
        return batch

    def _write_alone(self, cur: Cursor, batch: Batch, key: str, row: Row) -> None:
        """One session's row in its own savepoint: if it cannot be stored, park its records."""
        cur.execute("SAVEPOINT one_session")
        try:
            cur.execute(self.tables.upsert, row)
        except Exception as error:
            cur.execute("ROLLBACK TO SAVEPOINT one_session")
            batch.unapply(key, f"cannot store its session: {error}")
        cur.execute("RELEASE SAVEPOINT one_session")

    def _row(self, session: Session, shared: Shared) -> Row:
        return self.tables.row(session, shared.once(columns, session))


def apply_together(
    stores: Sequence[ReadModelWriter], records: Sequence[Record], cluster: str | None
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
    stores: Sequence[ReadModelWriter], cluster: str, topic: str, partitions: Sequence[int]
) -> dict[int, int]:
    """Where stores consumed together continue: the lowest of their next offsets, for the
    partitions every one of them has a position in. A store further on skips what it applied
    already (the version guard; parked records and gaps are kept once)."""
    stored = [store.positions(cluster, topic, partitions) for store in stores]
    return {p: min(s[p] for s in stored) for p in partitions if all(p in s for s in stored)}


def _shared_database(stores: Sequence[ReadModelWriter]) -> Database:
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
