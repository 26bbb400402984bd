"""Dynamic providers stop once the Pulumi engine that started them is gone.

The engine runs each Python dynamic provider as a child process and talks to it over
gRPC. When the engine is killed (`kill -9` of `pulumi`, a closed terminal, a CI timeout)
nothing tells the provider: it would finish the operation it is in (publish a routing
document, commit offsets) with no engine left to record it, and then linger. Before
every action with side effects a provider asks `engine_alive()`, and a watchdog thread
ends an idle provider process whose engine is gone.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import psutil

T = TypeVar("T")
R = TypeVar("R")
ENGINE_NAMES = frozenset({"pulumi"})
WATCH_INTERVAL_S = 1.0


class EngineGone(RuntimeError):
    """The engine that started this provider has exited; nothing more may be changed."""

    def __init__(self, doing: str) -> None:
        super().__init__(f"the Pulumi engine exited; stopped before: {doing}")


@cache
def _engine() -> psutil.Process | None:
    """The nearest ancestor that is the Pulumi CLI, or None outside an engine (tests calling providers directly)."""
    try:
        for ancestor in psutil.Process().parents():
            if ancestor.name() in ENGINE_NAMES:
                return ancestor
    except psutil.Error:
        return None
    return None


def engine_alive() -> bool:
    """Whether the engine that started this process still runs (always True outside an engine)."""
    engine = _engine()
    return engine is None or engine.is_running()


def require_engine(doing: str) -> None:
    """Raise EngineGone instead of doing `doing` when the engine has exited."""
    if not engine_alive():
        raise EngineGone(doing)


@cache
def start_watchdog() -> None:
    """Once per process: exit as soon as the engine is gone (an orphaned provider does nothing useful)."""
    if _engine() is None:
        return

    def watch() -> None:
        while engine_alive():
            time.sleep(WATCH_INTERVAL_S)
        os._exit(70)

    threading.Thread(target=watch, name="engine-watchdog", daemon=True).start()


_OPERATIONS = ("create", "read", "diff", "update", "delete")


def bound_to_engine(cls: type[T]) -> type[T]:
    """Class decorator for a dynamic provider: its first operation in a process starts the watchdog."""
    for name in _OPERATIONS:
        method = cls.__dict__.get(name)
        if method is not None:
            setattr(cls, name, _watched(method))
    return cls


def _watched(method: Callable[..., R]) -> Callable[..., R]:
    @functools.wraps(method)
    def operation(*args: Any, **kwargs: Any) -> R:
        start_watchdog()
        return method(*args, **kwargs)

    return operation
