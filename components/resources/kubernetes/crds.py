"""Validating Strimzi custom resources against the operator's own CRD schemas (as the API server would).

The CRDs of the pinned Strimzi release are carried in this package, in
`strimzi_crds/<version>/` (unchanged, with their Apache-2.0 licence and a README that
says where they came from). The API server
rejects what violates a CRD's `openAPIV3Schema` and silently *prunes* fields the schema
does not know; `CrdSchemas` turns pruning into an error too, so that a misspelled field
fails a test instead of vanishing from the cluster. CEL rules (`x-kubernetes-validations`)
are not evaluated here: `cel_rules` lists them with the fields they govern, so a test can
show that no manifest of ours reaches one (the real API server of the integration tests
evaluates them).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

STRIMZI_VERSION = "1.2.0"
STRIMZI_CRDS = Path(__file__).resolve().parent / "strimzi_crds" / STRIMZI_VERSION
"""The CRDs of the Strimzi release the Kubernetes runtime targets."""

DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(?=.{0,63}$)(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


JUNCTORS = ("oneOf", "anyOf", "allOf", "not")
"""Value validations only: the API server never prunes by the properties they name."""


def no_pruning(schema: Any) -> Any:
    """A copy of `schema` that refuses unknown fields wherever the API server would prune them."""
    if isinstance(schema, list):
        return [no_pruning(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: v if k in JUNCTORS else no_pruning(v) for k, v in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@dataclass(frozen=True)
class CrdSchemas:
    """The served versions' schemas of a folder of CRDs, by (apiVersion, kind)."""

    schemas: dict[tuple[str, str], dict[str, Any]]

    @staticmethod
    def load(directory: Path = STRIMZI_CRDS) -> CrdSchemas:
        """Read every CRD of `directory`; raises FileNotFoundError with the expected location when there are none."""
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise FileNotFoundError(
                f"no Strimzi CRDs in {directory}; the package carries them in "
                f"components/kubernetes/strimzi_crds/{STRIMZI_VERSION}/ (restore them with git checkout)"
            )
        schemas: dict[tuple[str, str], dict[str, Any]] = {}
        for path in files:
            crd = yaml.safe_load(path.read_text())
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served"):
                    api_version = f"{spec['group']}/{version['name']}"
                    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                    schemas[(api_version, spec["names"]["kind"])] = no_pruning(schema)
        return CrdSchemas(schemas)

    def errors(self, manifest: dict[str, Any]) -> list[str]:
        """What the API server would refuse (or prune) in `manifest`; empty when it is valid."""
        key = (manifest.get("apiVersion", ""), manifest.get("kind", ""))
        if key not in self.schemas:
            return [f"no served CRD for {key[0]} {key[1]}"]
        validator = jsonschema.Draft4Validator(self.schemas[key])
        found = [
            f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
        ]
        return found + metadata_errors(manifest.get("metadata", {}))


@dataclass(frozen=True)
class CelRule:
    """One `x-kubernetes-validations` rule of a CRD and the object field it is attached to."""

    api_version: str
    kind: str
    path: tuple[str, ...]
    """Property names from the object's root to the field (`("spec", "kafka", "rack")`)."""
    rule: str
    message: str


def cel_rules(directory: Path = STRIMZI_CRDS) -> list[CelRule]:
    """Every CEL rule of the served versions of the CRDs in `directory`, with where it applies."""
    found: list[CelRule] = []

    def visit(schema: dict[str, Any], api_version: str, kind: str, path: tuple[str, ...]) -> None:
        for rule in schema.get("x-kubernetes-validations", []):
            found.append(CelRule(api_version, kind, path, rule["rule"], rule.get("message", "")))
        for name, sub in schema.get("properties", {}).items():
            visit(sub, api_version, kind, (*path, name))
        if isinstance(schema.get("items"), dict):
            visit(schema["items"], api_version, kind, (*path, "[]"))

    for path in sorted(directory.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())["spec"]
        for version in spec["versions"]:
            if version.get("served"):
                api_version = f"{spec['group']}/{version['name']}"
                visit(version["schema"]["openAPIV3Schema"], api_version, spec["names"]["kind"], ())
    return found


def metadata_errors(meta: dict[str, Any]) -> list[str]:
    """Invalid object names, namespaces or label values (what the API server checks in metadata)."""
    found = []
    for field in ("name", "namespace"):
        if not DNS_SUBDOMAIN.match(str(meta.get(field, ""))):
            found.append(f"metadata.{field}: {meta.get(field)!r} is not a DNS subdomain name")
    for key, value in (meta.get("labels") or {}).items():
        if not LABEL_VALUE.match(str(value)):
            found.append(f"metadata.labels.{key}: {value!r} is not a valid label value")
    return found
