"""Migration rehearsal: a live workload on both clusters and the checks of what it saw."""
