"""kafka_migration: a zero-downtime Kafka migration (blue -> green with MirrorMaker 2) as Pulumi components."""
