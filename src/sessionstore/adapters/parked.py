"""A projection's parked records: kept with its offsets, listed and retried by `sessionstore
parked`. Keyed by where the record was on Kafka, so a record parked twice is kept once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import msgspec

from sessionstore.readmodels.progress import Parked


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class ParkedRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A parked record as stored: the Kafka cluster it came from, and the record."""

    cluster: str
    record: Parked


def create(cur: Cursor, table: str, blob: str) -> None:
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {table}_parked (cluster TEXT NOT NULL, "
        "topic TEXT NOT NULL, kafka_partition INTEGER NOT NULL, kafka_offset BIGINT NOT NULL, "
        f"kafka_key TEXT NOT NULL, reason TEXT NOT NULL, value {blob} NOT NULL, "
        "PRIMARY KEY (cluster, topic, kafka_partition, kafka_offset))"
    )


def insert(cur: Cursor, table: str, cluster: str, parked: Sequence[Parked]) -> None:
    for p in parked:
        cur.execute(
            f"INSERT INTO {table}_parked VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (cluster, topic, kafka_partition, kafka_offset) "
            "DO UPDATE SET reason = excluded.reason",
            (cluster, p.topic, p.partition, p.offset, _text(p.key), _text(p.reason), p.value),
        )


def select(cur: Cursor, table: str) -> list[ParkedRecord]:
    cur.execute(
        "SELECT cluster, topic, kafka_partition, kafka_offset, kafka_key, reason, value "
        f"FROM {table}_parked ORDER BY cluster, topic, kafka_partition, kafka_offset"
    )
    return [
        ParkedRecord(
            cluster=str(cluster),
            record=Parked(
                topic=str(topic),
                partition=int(partition),
                offset=int(offset),
                key=str(key),
                reason=str(reason),
                value=bytes(value) if not isinstance(value, str) else value.encode(),
            ),
        )
        for cluster, topic, partition, offset, key, reason, value in cur.fetchall()
    ]


def delete_all(cur: Cursor, table: str) -> None:
    cur.execute(f"DELETE FROM {table}_parked")


def _text(value: str) -> str:
    """What any database can store as text: no NUL, valid UTF-8 (the raw bytes are kept)."""
    return value.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode()
