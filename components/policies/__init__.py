"""The rules of the kafka-migration-safety policy pack (served by `policy/`, the pack folder)."""
