"""The Pulumi program: the stack's config in, one step of the migration out."""

from components.migration import run

run()
