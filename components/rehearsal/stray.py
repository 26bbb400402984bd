"""A client forgotten on blue: it keeps writing a record now and then after everyone else moved."""

from __future__ import annotations

import threading
from types import TracebackType

from confluent_kafka import Producer

from kafka_migration.rehearsal.identities import Connection, client_settings

STRAY_EVERY_S = 3.0
"""How often the stray writes, at most: shorter than the blue-idle window, so every window holds a write."""
STRAY_TOPIC = "orders"
"""Where the stray writes (a secured rehearsal logs it in as a producer of this topic)."""


class StrayProducer:
    """Writes one record to `topic` every `every_s` until the `with` block ends.

    Its values are not workload records (the consumers read them as history, unchecked).
    """

    def __init__(self, connection: Connection, every_s: float, topic: str = STRAY_TOPIC) -> None:
        self.sent = 0
        self.error: BaseException | None = None
        self._producer = Producer({**client_settings(connection), "enable.idempotence": True})
        self._topic, self._every_s = topic, every_s
        self._first = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rehearsal-stray", daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._producer.produce(self._topic, key=b"stray", value=f"stray-{self.sent}".encode())
                if self._producer.flush(10) != 0:
                    raise RuntimeError(f"stray record {self.sent} not acknowledged within 10s")
                self.sent += 1
                self._first.set()
                self._stop.wait(self._every_s)
        except BaseException as err:  # noqa: BLE001 - reported by wait_first / the caller
            self.error = err
            self._first.set()

    def wait_first(self, timeout_s: float = 30) -> None:
        """Block until the first record is acknowledged.

        Raises:
            RuntimeError: It was not, within `timeout_s` or at all.
        """
        if not self._first.wait(timeout_s) or self.error is not None:
            raise RuntimeError(f"the stray producer wrote nothing to blue: {self.error or 'timeout'}")

    def __enter__(self) -> StrayProducer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(20)
        self._producer.flush(10)
