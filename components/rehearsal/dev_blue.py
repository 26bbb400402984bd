"""A local blue for the dev stack: `python -m kafka_migration.rehearsal.dev_blue blue start|stop` (`make blue`).

Run from the repo: the dev stack (Pulumi.dev.yaml) treats blue as an existing cluster on 127.0.0.1:19092;
this starts one there, seeded like the rehearsal's, and leaves it running until `stop`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from kafka_migration.config.load import config_from_mapping
from kafka_migration.local_runtime import kafka
from kafka_migration.rehearsal.estate import seed

BLUE = kafka.KafkaNode("A", Path(".local-clusters") / "blue-A", 19092, 19093)


def main(argv: list[str] | None = None) -> int:
    """Start (and seed, the first time) or stop the dev stack's local blue."""
    parser = argparse.ArgumentParser(prog="python -m kafka_migration.rehearsal.dev_blue", description=__doc__)
    parser.add_argument("cluster", choices=["blue"])
    parser.add_argument("action", choices=["start", "stop"])
    args = parser.parse_args(argv)
    if args.action == "stop":
        kafka.stop(BLUE)
        print(f"blue stopped ({BLUE.data_dir} kept; delete it to start afresh)")
        return 0
    fresh = kafka.formatted_cluster_id(BLUE) is None
    kafka.start(BLUE, kafka.new_cluster_id())
    if fresh:
        raw = yaml.safe_load(Path("Pulumi.dev.yaml").read_text())["config"]
        seed(BLUE.bootstrap_servers, config_from_mapping(raw, "dev").clients)
    print(f"blue (A) running on {BLUE.bootstrap_servers}" + (", seeded" if fresh else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
