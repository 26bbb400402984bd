"""`kafka-migration status`: where a migration stack stands, what comes next, and what the clusters say now.

The report is read-only: it reads the stack's config and outputs with the project's
Pulumi CLI, evaluates the gates of the next step as `pulumi up` would (without moving
anything), measures lag per flow, appends one sample to `<out>/samples.jsonl` and draws
the plots from every sample recorded so far.
"""
