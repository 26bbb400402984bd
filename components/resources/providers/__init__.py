"""Pulumi dynamic providers for things no published provider manages (local processes, MM2 connectors, routing).

Each is honest: `read` reports what really exists (so `pulumi refresh` sees a dead
process or a deleted connector), `diff` compares, `update` converges, `delete` removes.
"""
