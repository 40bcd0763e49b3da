"""Idempotent producing where the broker offers it; never silently dropped when asked for."""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaError

from sessionstore.adapters.broker import EmbeddedBroker
from sessionstore.adapters.kafka import OutgoingRecord, Publisher, ensure_topic
from sessionstore.config import Settings
from tests.integration.stream_support import read_topic


async def test_a_broker_without_idempotence_gets_a_plain_producer_when_none_was_asked_for(
    broker: EmbeddedBroker,
) -> None:
    kafka = await ensure_topic(
        Settings(topic="plain-producer").kafka(broker.bootstrap, embedded=False)
    )
    assert kafka.idempotence  # the default for a configured broker
    publisher = Publisher(kafka)
    await publisher.start()
    try:
        await publisher.publish([OutgoingRecord(b"key", b"value", (("type", b"t"),))])
    finally:
        await publisher.stop()
    (record,) = await read_topic(kafka, 1)
    assert (record.key, record.value) == (b"key", b"value")


async def test_idempotence_asked_for_explicitly_is_an_error_on_a_broker_without_it(
    broker: EmbeddedBroker,
) -> None:
    settings = Settings(topic="strict-producer", kafka_idempotence=True)
    kafka = await ensure_topic(settings.kafka(broker.bootstrap, embedded=False))
    with pytest.raises(KafkaError):
        await Publisher(kafka).start()
