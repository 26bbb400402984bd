"""Pure decisions of the migration: no Pulumi, no network. Tested without any engine."""
