"""The rebuild's side of a projection's tables: shadow copies, filled in bulk and swapped in
whole, so a replay never writes into the tables it replaces.

`start()` creates empty shadow tables (`shadow_<table>_*`) beside the target tables, or,
for a partial rebuild, copies in the target's rows of every session that is not rebuilt.
`write()` stores many sessions' rows, with parked records, gaps and offsets, in one
transaction. `swap_in()` replaces the target tables by the shadows in one transaction; a
replay that fails before it (broker unreachable, killed, anything) leaves the target tables
exactly as they were, and the next rebuild drops what the failed one left.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sessionstore.adapters import parked
from sessionstore.adapters.readmodel_tables import (
    PARTS,
    Cursor,
    Database,
    Row,
    Tables,
    columns,
)
from sessionstore.codec import decode_state
from sessionstore.domain.session import Session
from sessionstore.readmodels.progress import Gap, Parked
from sessionstore.readmodels.projections import Projection

SHADOW = "shadow_"
CHUNK = 2000  # rows per statement


class ShadowTables:
    """Shadow tables of some projections in one database, and the target tables they replace."""

    def __init__(self, database: Database, projections: Sequence[Projection]) -> None:
        self.database = database
        self.targets = [Tables(database, p) for p in projections]
        self.shadows = [Tables(database, p, SHADOW) for p in projections]

    def start(self, keep_all_but: Collection[str] | None = None, offsets: bool = False) -> None:
        """Empty shadow tables; `keep_all_but`: with the target's rows, gaps and parked
        records of every session but these; `offsets`: starting at the target's offsets."""
        with self.database.transaction() as cur:
            for target, shadow in self._pairs():
                target.create_in(cur)
                shadow.drop_in(cur)
                shadow.create_in(cur)
            if keep_all_but is not None:
                self._keep(cur, keep_all_but)
            for target, shadow in self._pairs() if offsets else ():
                cur.execute(
                    f"INSERT INTO {shadow.name}_offsets SELECT * FROM {target.name}_offsets"
                )

    def _keep(self, cur: Cursor, rebuilt: Collection[str]) -> None:
        keys = f"{SHADOW}rebuilt_keys"
        cur.execute(f"DROP TABLE IF EXISTS {keys}")
        cur.execute(f"CREATE TABLE {keys} (session_key TEXT PRIMARY KEY)")
        cur.executemany(f"INSERT INTO {keys} VALUES (?)", [(k,) for k in rebuilt])
        for target, shadow in self._pairs():
            for part, column in (("sessions", "session_key"), ("gaps", "session_key")):
                cur.execute(
                    f"INSERT INTO {shadow.name}_{part} SELECT * FROM {target.name}_{part} "
                    f"WHERE {column} NOT IN (SELECT session_key FROM {keys})"
                )
            cur.execute(
                f"INSERT INTO {shadow.name}_parked SELECT * FROM {target.name}_parked "
                f"WHERE kafka_key NOT IN (SELECT session_key FROM {keys})"
            )
        cur.execute(f"DROP TABLE {keys}")

    def stored(self, keys: Sequence[str]) -> dict[str, Session]:
        """The states written so far of these sessions (of a session written in an earlier
        `write()` that has more events)."""
        with self.database.reading() as cur:
            return self.shadows[0].stored_states(cur, keys, decode_state)

    def rows(self, sessions: Sequence[Session]) -> list[list[Row]]:
        """Each shadow's rows of these sessions (the CPU part of a write; each state encoded
        once)."""
        common = [(s, columns(s)) for s in sessions]
        return [[shadow.row(s, c) for s, c in common] for shadow in self.shadows]

    def write(
        self,
        rows: Sequence[Sequence[Row]],
        parked_records: Sequence[Parked] = (),
        gaps: Sequence[Gap] = (),
        cluster: str | None = None,
        offsets: dict[tuple[str, int], int] | None = None,
    ) -> None:
        """`rows()` of some sessions, with the records parked, the gaps and (for records from
        Kafka) the next offsets, in one transaction: mostly the database's own work, which
        lets other Python threads run meanwhile."""
        with self.database.transaction() as cur:
            for shadow, table_rows in zip(self.shadows, rows, strict=True):
                for first in range(0, len(table_rows), CHUNK):
                    cur.executemany(shadow.upsert, table_rows[first : first + CHUNK])
                shadow.store_gaps(cur, gaps)
                parked.insert(cur, shadow.name, cluster or "", parked_records)
                if cluster is not None and offsets:
                    shadow.store_offsets(cur, cluster, offsets)

    def count(self) -> int:
        """Sessions in the (first) shadow."""
        with self.database.reading() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {self.shadows[0].name}_sessions")
            return int(cur.fetchone()[0])

    def positions(self, cluster: str, topic: str) -> dict[int, int]:
        """Where the shadows stand on Kafka: the lowest of their next offsets."""
        stored = [shadow.positions(cluster, topic) for shadow in self.shadows]
        return {p: min(s.get(p, 0) for s in stored) for p in set().union(*stored)}

    def swap_in(self, *, live: bool) -> bool:
        """Replace the target tables by the shadows in one transaction. `live`: only if the
        shadows are at or past every offset the live projector stored (it then goes on
        writing into the swapped-in tables; what it applies again is skipped by the version
        guard); False: not caught up yet, nothing changed."""
        with self.database.transaction() as cur:
            for target, _ in self._pairs():
                for part in PARTS:
                    self.database.lock(cur, f"{target.name}_{part}")
            for target, shadow in self._pairs() if live else ():
                if not _caught_up(cur, f"{shadow.name}_offsets", f"{target.name}_offsets"):
                    return False
            for target, shadow in self._pairs():
                for part in PARTS:
                    cur.execute(f"DROP TABLE {target.name}_{part}")
                    cur.execute(f"ALTER TABLE {shadow.name}_{part} RENAME TO {target.name}_{part}")
        return True

    def drop(self) -> None:
        with self.database.transaction() as cur:
            for shadow in self.shadows:
                shadow.drop_in(cur)

    def close(self) -> None:
        self.database.close()

    def _pairs(self) -> list[tuple[Tables, Tables]]:
        return list(zip(self.targets, self.shadows, strict=True))


def _caught_up(cur: Cursor, shadow: str, live: str) -> bool:
    cur.execute(
        f"SELECT COUNT(*) FROM {live} l LEFT JOIN {shadow} s ON s.cluster = l.cluster "
        "AND s.topic = l.topic AND s.kafka_partition = l.kafka_partition "
        "WHERE s.next_offset IS NULL OR s.next_offset < l.next_offset"
    )
    return int(cur.fetchone()[0]) == 0
