"""Every setting, read once from SESSIONSTORE_* environment variables (see .env.example)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import msgspec

DEFAULT_DATABASE_URL = "sqlite:///var/events.db"
CONNECT_TIMEOUT = 10  # seconds: how long a one-shot command waits for PostgreSQL


class ConfigError(ValueError):
    """A setting is malformed; the message names the variable."""


class KafkaSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What the Kafka adapter needs; defaults are valid on Apache Kafka and the embedded broker."""

    bootstrap: str
    topic: str = "customer-sessions"
    partitions: int = 3
    replication: int = 1
    idempotence: bool = False
    idempotence_by_default: bool = False
    session_timeout_ms: int = 6000
    heartbeat_interval_ms: int = 500
    fetch_max_wait_ms: int = 20
    cluster_id: str = ""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = DEFAULT_DATABASE_URL
    readmodel_url: str = ""
    kafka_bootstrap: str = ""
    topic: str = "customer-sessions"
    partitions: int = 3
    replication: int = 1
    kafka_idempotence: bool | None = None
    session_timeout_ms: int = 6000
    fetch_max_wait_ms: int = 20
    api_keys: dict[str, int] = {}
    management_keys: frozenset[str] = frozenset()
    max_body_bytes: int = 1 << 20
    max_attribute_bytes: int = 64 << 10
    connect_timeout: int = CONNECT_TIMEOUT
    account_id: int = 1
    log_level: str = "INFO"
    log_format: str = "text"

    def kafka(self, bootstrap: str, *, embedded: bool) -> KafkaSettings:
        """Idempotence defaults to on for a configured Kafka, off for the embedded broker."""
        idempotence = not embedded if self.kafka_idempotence is None else self.kafka_idempotence
        return KafkaSettings(
            bootstrap=bootstrap,
            topic=self.topic,
            partitions=self.partitions,
            replication=self.replication,
            idempotence=idempotence,
            idempotence_by_default=self.kafka_idempotence is None,
            session_timeout_ms=self.session_timeout_ms,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
        )


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Every setting checked here, each bad one a ConfigError naming its variable."""
    env = os.environ if environ is None else environ

    def get(name: str, default: str = "") -> str:
        return env.get(f"SESSIONSTORE_{name}", default).strip()

    database_url = get("DATABASE_URL") or DEFAULT_DATABASE_URL
    readmodel_url = get("READMODEL_URL") or database_url
    for name, url in (("DATABASE_URL", database_url), ("READMODEL_URL", readmodel_url)):
        _url(f"SESSIONSTORE_{name}", url)
    log_level = get("LOG_LEVEL", "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError(
            f"SESSIONSTORE_LOG_LEVEL: {log_level.lower()!r} is none of {', '.join(LOG_LEVELS)}"
        )
    log_format = get("LOG_FORMAT", "text").lower()
    if log_format not in ("text", "json"):
        raise ConfigError(f"SESSIONSTORE_LOG_FORMAT: {log_format!r} is neither text nor json")
    return Settings(
        database_url=database_url,
        readmodel_url=readmodel_url,
        kafka_bootstrap=get("KAFKA_BOOTSTRAP"),
        topic=get("TOPIC") or "customer-sessions",
        partitions=_integer("SESSIONSTORE_TOPIC_PARTITIONS", get("TOPIC_PARTITIONS", "3")),
        replication=_integer("SESSIONSTORE_TOPIC_REPLICATION", get("TOPIC_REPLICATION", "1")),
        session_timeout_ms=_integer(
            "SESSIONSTORE_KAFKA_SESSION_TIMEOUT_MS", get("KAFKA_SESSION_TIMEOUT_MS", "6000")
        ),
        fetch_max_wait_ms=_integer(
            "SESSIONSTORE_KAFKA_FETCH_MAX_WAIT_MS", get("KAFKA_FETCH_MAX_WAIT_MS", "20")
        ),
        kafka_idempotence=_boolean("SESSIONSTORE_KAFKA_IDEMPOTENCE", get("KAFKA_IDEMPOTENCE")),
        api_keys=parse_api_keys(get("API_KEYS")),
        management_keys=frozenset(filter(None, map(str.strip, get("MANAGEMENT_KEYS").split(",")))),
        max_body_bytes=_integer("SESSIONSTORE_MAX_BODY_BYTES", get("MAX_BODY_BYTES", str(1 << 20))),
        max_attribute_bytes=_integer(
            "SESSIONSTORE_MAX_ATTRIBUTE_BYTES", get("MAX_ATTRIBUTE_BYTES", str(64 << 10))
        ),
        connect_timeout=_integer(
            "SESSIONSTORE_CONNECT_TIMEOUT_S", get("CONNECT_TIMEOUT_S", str(CONNECT_TIMEOUT))
        ),
        account_id=_integer("SESSIONSTORE_ACCOUNT_ID", get("ACCOUNT_ID", "1")),
        log_level=log_level,
        log_format=log_format,
    )


def _url(name: str, url: str) -> None:
    try:
        eventstore_env(url)
    except ConfigError as error:
        raise ConfigError(f"{name}: {error}") from None


def _boolean(name: str, text: str) -> bool | None:
    """Unset: None (the default applies); else one of TRUE or FALSE, nothing else."""
    if not text:
        return None
    if text.lower() in TRUE + FALSE:
        return text.lower() in TRUE
    raise ConfigError(f"{name}: {text!r} is not a boolean (true/false, 1/0, yes/no, on/off)")


def parse_api_keys(text: str) -> dict[str, int]:
    """`key=applicationId,key2=applicationId2` -> {key: applicationId}."""
    keys: dict[str, int] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        key, sep, application = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"SESSIONSTORE_API_KEYS: expected key=applicationId, got {pair!r}")
        keys[key.strip()] = _integer("SESSIONSTORE_API_KEYS", application.strip())
    return keys


def eventstore_env(url: str) -> dict[str, str]:
    """Translate a database URL into the eventsourcing library's persistence settings.

    PostgreSQL URLs may name a schema: `postgresql://user@host:5432/db?schema=name`.
    """
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path.removeprefix("/")) if parsed.netloc == "" else ""
        if not path:
            raise ConfigError(f"expected sqlite:///path/to/file.db, got {url!r}")
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path}
    if parsed.scheme in ("postgresql", "postgres"):
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parsed.path.removeprefix("/") or "postgres",
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_SCHEMA": postgres_schema(url),
            # two kept open; up to the store's 8 read workers, its committer and a few more
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "12",
        }
    raise ConfigError(
        f"unsupported database URL {url!r}: use sqlite:///path or postgresql://user@host/db"
    )


def postgres_schema(url: str) -> str:
    return parse_qs(urlparse(url).query).get("schema", [""])[0]


def same_database(one: str, other: str) -> bool:
    """Whether two database URLs name the same tables: the same SQLite file, or the same
    PostgreSQL server, database and schema (whoever connects)."""
    a, b = eventstore_env(one), eventstore_env(other)
    if "SQLITE_DBNAME" in a or "SQLITE_DBNAME" in b:
        if "SQLITE_DBNAME" not in a or "SQLITE_DBNAME" not in b:
            return False
        return Path(a["SQLITE_DBNAME"]).resolve() == Path(b["SQLITE_DBNAME"]).resolve()
    names = ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME")
    schemas = (a["POSTGRES_SCHEMA"] or "public", b["POSTGRES_SCHEMA"] or "public")
    return all(a[n] == b[n] for n in names) and schemas[0] == schemas[1]


def _integer(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name}: {text!r} is not a whole number") from None
    if value < 1:
        raise ConfigError(f"{name}: {value} must be positive")
    return value
