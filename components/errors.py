"""The migration's exceptions. Recoverable outcomes (gate verdicts) are return values, not exceptions.

MigrationError
├── ConfigError        the stack config is invalid (field, value, fix)
├── PreflightError     a cluster could not be read (unreachable, unauthorized)
├── TransitionRefused  the phase move is unsafe or skips a step (why, what to do)
└── GateFailed         a safety gate failed at `pulumi up` (named gate, figures)
"""

from __future__ import annotations


class MigrationError(Exception):
    """Base of every error the migration raises on purpose."""


class ConfigError(MigrationError, ValueError):
    """The config is invalid or does not fit the clusters it describes (names the field, the value and the fix)."""


class PreflightError(MigrationError):
    """A cluster could not be read."""


class TransitionRefused(MigrationError):
    """The configured phase cannot be reached from the applied one."""


class GateFailed(MigrationError):
    """One or more gates failed; nothing was changed."""

    def __init__(self, gates: list[str], message: str) -> None:
        super().__init__(message)
        self.gates = gates
