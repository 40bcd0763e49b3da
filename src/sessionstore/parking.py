"""`sessionstore parked`: list a projection's parked records, and apply them again."""

from __future__ import annotations

from collections.abc import Sequence

import click
import msgspec
from rich.console import Console
from rich.table import Table

from sessionstore.config import Settings
from sessionstore.runtime import open_readmodels


class ParkedItem(msgspec.Struct, frozen=True, rename="camel"):
    """One parked record, as `parked --json` prints it; `value` is its bytes as text."""

    projection: str
    cluster: str
    topic: str
    partition: int
    offset: int
    key: str
    reason: str
    value: str


def parked_items(settings: Settings, names: Sequence[str]) -> list[ParkedItem]:
    stores = open_readmodels(settings, list(names))
    try:
        return [
            ParkedItem(
                projection=name,
                cluster=p.cluster,
                topic=p.record.topic,
                partition=p.record.partition,
                offset=p.record.offset,
                key=p.record.key,
                reason=p.record.reason,
                value=p.record.value.decode(errors="backslashreplace"),
            )
            for name, store in stores.items()
            for p in store.parked_records()
        ]
    finally:
        for store in stores.values():
            store.close()


def print_parked(settings: Settings, names: Sequence[str], as_json: bool) -> None:
    items = parked_items(settings, names)
    if as_json:
        click.echo(msgspec.json.encode(items).decode())
        return
    if not items:
        click.echo(f"nothing parked in {', '.join(names)}")
        return
    table = Table(title=f"{len(items)} parked record(s)")
    for column in ("projection", "partition", "offset", "key", "reason"):
        table.add_column(column)
    for item in items:
        table.add_row(item.projection, str(item.partition), str(item.offset), item.key, item.reason)
    Console().print(table)


def retry_parked(settings: Settings, names: Sequence[str]) -> None:
    stores = open_readmodels(settings, list(names))
    try:
        for name, store in stores.items():
            removed, left = store.retry_parked()
            click.echo(f"{name}: {removed} applied or no longer needed, {left} still parked")
    finally:
        for store in stores.values():
            store.close()
