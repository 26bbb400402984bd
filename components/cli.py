"""`kafka-migration`: the package's command line (status, rehearsal, bench, setup).

Each command is the entry point of its subpackage (`kafka_migration.<name>.__main__`), which
adds its own options to the subcommand's parser: one definition, `--help` alike both ways.
Only the named command's module is imported, so `kafka-migration setup` works before
anything else can (and `--help` of one command does not load the others).
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from kafka_migration import __version__

PROG = "kafka-migration"
EXTRAS = ("kubernetes", "docker")
"""What `setup` can build besides the core toolchain (setup.sh's arguments)."""

COMMANDS = {
    "status": "where a migration stack stands, what comes next, and whether it could go now",
    "rehearsal": "the whole migration rehearsed on two local clusters under live traffic (or the fault campaign)",
    "bench": "speed and memory of the migration's hot paths, against stated targets",
    "setup": "build the toolchain (Pulumi CLI, language host, kafka plugin, Kafka jars) into the cache",
    "docker-image": "build the Docker runtime's Kafka image into a Docker engine from this machine's files",
}


def setup_script() -> Path:
    """`toolchain/setup.sh`, shipped inside the installed package (this module's folder)."""
    return Path(__file__).resolve().parent / "toolchain" / "setup.sh"


def _entry_point(command: str) -> ModuleType:
    return importlib.import_module(f"kafka_migration.{command.replace('-', '_')}.__main__")


def _extra(value: str) -> str:
    if value not in EXTRAS:
        raise argparse.ArgumentTypeError(f"unknown extra {value!r} (choose from {', '.join(EXTRAS)})")
    return value


def _add_setup_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "extras",
        nargs="*",
        type=_extra,  # not `choices`: argparse (3.11) would check an empty list against them
        metavar="EXTRA",
        help="also build these: kubernetes (its provider plugin and a local API server), docker (the docker "
        "provider plugin, and Debian's Docker engine installed as root)",
    )


def _setup(extras: list[str]) -> int:
    """Run setup.sh (it finds its build files beside itself); its exit code is the command's."""
    script = setup_script()
    if not script.is_file():
        print(f"{PROG} setup: error: {script} is missing from the installed package", file=sys.stderr)
        return 2
    return subprocess.run(["bash", str(script), *extras], check=False).returncode


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; `command`'s options are added when it is the one being run (lazy imports)."""
    top = argparse.ArgumentParser(
        prog=PROG,
        description="Move a live Kafka estate from blue to green with MirrorMaker 2, one `pulumi up` at a time.",
        epilog=f"`{PROG} COMMAND --help` shows a command's options.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    top.add_argument(
        "--cache",
        metavar="DIR",
        help="the toolchain's cache: CLI, plugins, Kafka jars (default: $KAFKAMIG_CACHE or ~/.cache/kafka-migration)",
    )
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, summary in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        if name != command:
            continue
        if name == "setup":
            sub.description = (
                f"{summary}. Runs {setup_script()}; the cache is KAFKAMIG_CACHE (default ~/.cache/kafka-migration). "
                "Needs go, java, mvn and python3 on PATH."
            )
            _add_setup_arguments(sub)
        else:
            module = _entry_point(name)
            sub.description = getattr(module, "DESCRIPTION", None) or module.__doc__  # as its own parser has it
            module.add_arguments(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; returns its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if a in COMMANDS), None)
    args = parser(command).parse_args(argv)
    if args.cache:
        os.environ["KAFKAMIG_CACHE"] = str(Path(args.cache).expanduser().resolve())
        argv = argv[argv.index(args.command) :]
    if args.command == "setup":
        return _setup(args.extras)
    # Parsed above (errors and --help as `kafka-migration <command>`); the entry point runs it.
    return int(_entry_point(args.command).main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
