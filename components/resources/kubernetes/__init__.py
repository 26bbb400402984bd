"""The Kubernetes runtime: green as Strimzi custom resources.

`planning.strimzi_manifests` builds the objects as plain dicts (no Pulumi import, so this package imports
without Pulumi too); `resources` turns them into Pulumi resources under components.
"""

from kafka_migration.planning.strimzi_manifests import StrimziManifests, strimzi_manifests
from kafka_migration.planning.strimzi_names import StrimziNames, strimzi_names

__all__ = ["StrimziManifests", "StrimziNames", "strimzi_manifests", "strimzi_names"]
