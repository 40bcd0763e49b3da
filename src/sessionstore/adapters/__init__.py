"""Adapters at the edges: read-model storage, Kafka, the embedded broker."""
