"""The readers' side of a projection's tables: documents by id, the Management API's
filtered pages, and whole-table reads for `verify`. Imports nothing of Kafka: the HTTP
layer reads through this module only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sessionstore.adapters.filters import SORTABLE, Filters, where
from sessionstore.adapters.readmodel_tables import Database, Tables, as_bytes
from sessionstore.readmodels.projections import Projection


class ReadModelQueries:
    def __init__(self, database: Database, projection: Projection, prefix: str = "") -> None:
        self.projection = projection
        self.database = database
        self.table = Tables(database, projection, prefix).name

    def close(self) -> None:
        self.database.close()

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
            rows = [as_bytes(r[0]) for r in cur.fetchall()]
        return rows[:page_size], len(rows) > page_size

    def documents_by_key(self) -> dict[str, bytes]:
        with self.database.reading() as cur:
            cur.execute(f"SELECT session_key, document FROM {self.table}_sessions")
            return {str(key): as_bytes(document) for key, document in cur.fetchall()}

    def versions(self) -> Iterator[tuple[str, int]]:
        with self.database.reading() as cur:
            cur.execute(f"SELECT session_key, version FROM {self.table}_sessions")
            rows = cur.fetchall()
        yield from ((str(k), int(v)) for k, v in rows)

    def _one(self, where: str, params: tuple[Any, ...]) -> bytes | None:
        with self.database.reading() as cur:
            cur.execute(f"SELECT document FROM {self.table}_sessions WHERE {where}", params)
            row = cur.fetchone()
        return as_bytes(row[0]) if row else None
