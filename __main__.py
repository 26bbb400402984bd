"""The Pulumi program: the stack's config in, one step of the migration out."""

from kafka_migration import Migration

Migration("migration")
