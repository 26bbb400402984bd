"""Driving a migration stack with the Automation API (tests, rehearsal): config in, one step per `up`."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from pulumi import automation as auto

from kafka_migration.local_runtime.pulumi_cli import pulumi_bin, pulumi_env, pulumi_root

Output = Callable[[str], None]
GATE_REFUSAL = "refused to enter"
"""How a gate refusal starts (components/migration.py)."""
DRAIN_WAIT = "rollback stopped before"
"""How a rollback drain's timeout starts (operations/reverse_drain.py): the next `up` waits again."""


def _quiet(_line: str) -> None:
    """Default sink for the engine's progress lines."""


def config_leaves(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """`(dotted.path, value)` of every leaf of a nested mapping (lists are leaves)."""
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from config_leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class MigrationStack:
    """A stack of the migration project in `project_dir`, with a file backend in `backend_dir`."""

    stack: auto.Stack

    @classmethod
    def create(
        cls,
        project_dir: Path,
        backend_dir: Path,
        name: str,
        config: dict[str, Any],
        secrets: Mapping[str, str] | None = None,
    ) -> MigrationStack:
        """The stack `name`, created (or selected) with `config`; `secrets` as in `configure`."""
        options = auto.LocalWorkspaceOptions(
            pulumi_command=auto.PulumiCommand(root=str(pulumi_root())),
            env_vars=pulumi_env(backend_dir),
        )
        stack = auto.create_or_select_stack(name, work_dir=str(project_dir), opts=options)
        harness = cls(stack)
        harness.configure(config, secrets or {})
        return harness

    def configure(self, values: dict[str, Any], secrets: Mapping[str, str] | None = None) -> None:
        """Set config keys (camelCase, as in Pulumi.<stack>.yaml); objects are stored as JSON.

        `secrets` maps dotted paths (`green.security.password`) to values set as secrets
        (`pulumi config set --secret --path`). An object holding one is set leaf by leaf,
        as a user's `Pulumi.<stack>.yaml` holds it: a JSON string cannot hold a secret inside.
        """
        secrets = secrets or {}
        holders = {path.split(".")[0] for path in secrets}
        plain = {k: auto.ConfigValue(_text(v)) for k, v in values.items() if k not in holders}
        self.stack.set_all_config(plain)
        if secrets:
            nested = {k: v for k, v in values.items() if k in holders}
            leaves = {path: auto.ConfigValue(_text(v)) for path, v in config_leaves(nested)}
            leaves.update({path: auto.ConfigValue(v, secret=True) for path, v in secrets.items()})
            self.stack.set_all_config(leaves, path=True)

    def goto(self, phase: str, producer_waves: int = 0, consumer_waves: int = 0) -> None:
        self.configure({"phase": phase, "producerWaves": str(producer_waves), "consumerWaves": str(consumer_waves)})

    def preview(self, on_output: Output = _quiet) -> auto.PreviewResult:
        return self.stack.preview(on_output=on_output)

    def up(self, on_output: Output = _quiet) -> auto.UpResult:
        return self.stack.up(on_output=on_output)

    def up_when_gates_pass(
        self, timeout_s: float, on_output: Output = _quiet, retry_every_s: float = 3.0
    ) -> auto.UpResult:
        """`pulumi up`, repeated while a gate refuses the step or a rollback's drain waits (as an operator retries).

        Anything else is raised at once; so is the last refusal at timeout.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.up(on_output)
            except auto.CommandError as err:
                waiting = GATE_REFUSAL in str(err) or DRAIN_WAIT in str(err)
                if not waiting or time.monotonic() > deadline:
                    raise
                time.sleep(retry_every_s)

    def outputs(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.stack.outputs().items()}

    def destroy(self, on_output: Output = _quiet) -> None:
        self.stack.destroy(on_output=on_output)


def pulumi_up_process(
    stack: MigrationStack, project: Path, backend: Path, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """`pulumi up` of `stack` as a process in a session of its own, so that it can be killed like an operator's.

    Its output goes to `log` (what a failed attempt said), or nowhere.
    """
    command = [str(pulumi_bin() / "pulumi"), "up", "--yes", "--skip-preview", "--stack", stack.stack.name]
    with contextlib.ExitStack() as files:
        sink = files.enter_context(log.open("wb")) if log else subprocess.DEVNULL
        return subprocess.Popen(
            command,
            cwd=project,
            env={**pulumi_env(backend), **(env or {})},
            stdout=sink,
            stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
            start_new_session=True,
        )


def engine_error_summary(text: str, keep: int = 1500) -> str:
    """A long engine error shortened to what explains it: its start and its `Diagnostics:` section.

    Pulumi prints each resource's error under `Diagnostics:`, between the progress lines
    and the (long) outputs; cutting only to head and tail loses exactly that part.
    """
    if len(text) <= 2 * keep:
        return text
    start, _, rest = text.partition("Diagnostics:")
    if not rest:
        return f"{text[:keep]} [...] {text[-keep:]}"
    diagnostics = rest.split("\nOutputs:")[0].split("\nResources:")[0]
    return f"{start[:keep]} [...] Diagnostics:{diagnostics[: 3 * keep]}"


def kill_session(session_id: int) -> None:
    """`kill -9` every process of a killed update's session.

    pulumi-kafka's Go plugin runs in a process group of its own and does not exit with its engine.
    """
    for process in psutil.process_iter():
        with contextlib.suppress(ProcessLookupError, PermissionError, psutil.Error):
            if os.getsid(process.pid) == session_id:
                process.kill()
