"""The routing document's JSON Schema, generated from `planning.routing.RoutingDocument`.

The committed file `schemas/routing-document.v1.json` is this module's output; a unit test
fails when it drifts from the model. After changing the model, regenerate it with
`python -m kafka_migration.planning.routing_schema`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kafka_migration.planning.routing import ROUTING_FORMAT_VERSION, RoutingDocument

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / f"routing-document.v{ROUTING_FORMAT_VERSION}.json"
"""Where the schema is committed, one file per format version."""


def routing_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a published routing document, `revision` included."""
    schema = RoutingDocument.model_json_schema(by_alias=True, mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render() -> str:
    """The schema file's exact text."""
    return json.dumps(routing_schema(), indent=2) + "\n"


def main() -> None:
    """Write the schema to `SCHEMA_PATH`."""
    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(render())
    print(f"wrote {SCHEMA_PATH}")


if __name__ == "__main__":
    main()
