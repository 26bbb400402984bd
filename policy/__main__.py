"""The kafka-migration-safety policy pack: serves the rules of kafka_migration.policies.rules and blocks."""

from pulumi_policy import PolicyPack

from kafka_migration.policies.rules import POLICIES

PolicyPack(name="kafka-migration-safety", policies=POLICIES)
