"""The Kubernetes runtime through a real `pulumi up`: the kubernetes provider renders YAML (no cluster needed).

One stack walks every step of a strategy, one `pulumi up` per step, with the provider's
`renderYamlToDirectory`. At every step:
- the engine updates exactly the objects whose manifests changed, and never replaces
  or deletes one (URNs stable across phases);
- every rendered custom resource is valid for Strimzi 1.2.0's CRDs and equals its manifest;
- no password reaches the rendered files or the state.
Then a preview shows no change, and destroy removes the rendered files.
`test_kubernetes_apiserver` walks the same program against a real API server.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from kafka_migration.planning.desired import plan_migration
from kafka_migration.planning.phases import config_steps
from kafka_migration.planning.strimzi_names import STRIMZI_API_VERSION, manifest_key
from kafka_migration.resources.kubernetes.crds import STRIMZI_CRDS, CrdSchemas
from tests.integration.kubernetes_walk import (
    BLUE,
    COMPONENTS,
    PASSWORDS,
    KubernetesWalk,
    changed_names,
    kubernetes_config,
    planned,
)

pytestmark = pytest.mark.integration


def rendered(render_dir: Path) -> dict[str, dict[str, Any]]:
    """Manifest key -> object, of every file the provider rendered."""
    out = {}
    for path in sorted((render_dir / "1-manifest").glob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        out[manifest_key(obj)] = obj
    return out


@pytest.mark.usefixtures("kubernetes_plugin")
@pytest.mark.parametrize("strategy", ["bidirectional", "one-way"])
def test_every_step_renders_valid_strimzi_resources_with_updates_only(tmp_path: Path, strategy: str) -> None:
    render_dir = tmp_path / "rendered"
    cfg = kubernetes_config(strategy, {"renderYamlToDirectory": str(render_dir)})
    crds = CrdSchemas.load(STRIMZI_CRDS)
    walk = KubernetesWalk(cfg, tmp_path, f"render-{strategy}")
    previous: dict[str, dict[str, Any]] = {}
    for i, step in enumerate(config_steps(cfg)):
        plan = plan_migration(cfg, step, BLUE, cfg.green.brokers)
        manifests = planned(cfg, plan)
        up = walk.up(plan)
        what = f"{strategy} {step.describe()}"
        assert {op for op, _ in up.ops} <= {"same", "update", "create"}, (what, up.ops)
        assert i < 2 or not up.names("create"), (what, up.ops)
        assert up.names("update", "create") == changed_names(previous, manifests)[0], what
        previous = manifests

        files = rendered(render_dir)
        assert set(files) == set(manifests), what
        for key, obj in files.items():
            assert obj == manifests[key], (what, key)
            if obj["apiVersion"] == STRIMZI_API_VERSION:
                assert crds.errors(obj) == [], (what, key)
        if plan.green_provisioned:
            assert up.result.outputs["bootstrap"].value == "b-kafka-bootstrap.kafka.svc:9092"
        if i == 1:
            assert "b-mm2-credentials" in up.result.stdout and "is not rendered" in up.result.stdout

    for path in itertools.chain(render_dir.rglob("*"), (tmp_path / "state").rglob("*")):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert not [p for p in PASSWORDS if p in text], path

    assert walk.stack.preview().change_summary == {"same": len(previous) + COMPONENTS}
    walk.remove()
    assert list((render_dir / "1-manifest").glob("*.yaml")) == []
