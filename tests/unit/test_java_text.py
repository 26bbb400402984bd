"""Properties files and JAAS values are escaped: whatever a value holds, Java reads back that value and nothing more.

Java itself is not run here: `tests/unit/java_readers.py` re-implements `Properties.load`
and Kafka's `JaasConfig` tokenizer, and its first tests pin it to their documented behaviour.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kafka_migration.planning.java_text import jaas_config, jaas_quoted, properties_text
from kafka_migration.planning.local_processes import (
    ConnectWorker,
    KafkaNode,
    secrets_properties,
    server_config,
    server_properties,
    worker_config,
    worker_properties,
)
from kafka_migration.planning.mm2 import endpoint
from tests.unit.builders import make_config
from tests.unit.java_readers import load_properties, parse_jaas

TRICKY = [
    "plain",
    "",
    "a\nsuper.users=User:evil",
    "line\r\nbreaks\rand\n\nmore",
    "x=y:z",
    "#not a comment",
    "!not a comment either",
    "back\\slash\\",
    "\\uABCD is not an escape",
    "quote \" and ' inside",
    "  leading and trailing spaces  ",
    "\ttab\fformfeed",
    "caf\u00e9 \u4e2d\u6587 \U0001f600",
    "${file:/x:y}",
    "semi;colon = // /* comment-like */",
    "\\",
    '"',
    "\\n",
]


# --- The readers behave as Java documents ----------------------------------------------------------------------


def test_the_properties_reader_follows_the_load_javadoc() -> None:
    text = (
        "Truth = Beauty\n"
        " Truth:Beauty\n"
        "Truth                    :Beauty\n"
        "# a comment\n"
        "   ! another one\n"
        "fruits                           apple, banana, pear, \\\n"
        "                                 cantaloupe, watermelon, \\\n"
        "                                 kiwi, mango\n"
        "cheeses\n"
        "\\:\\=\n"
        "uni=\\u00e9\\t\\x\r\n"
    )
    assert load_properties(text) == {
        "Truth": "Beauty",
        "fruits": "apple, banana, pear, cantaloupe, watermelon, kiwi, mango",
        "cheeses": "",
        ":=": "",
        "uni": "\u00e9\tx",
    }
    # What the escaping prevents: a raw line break in a value starts a key of its own.
    assert load_properties("a=1\nsuper.users=User:evil\n") == {"a": "1", "super.users": "User:evil"}


def test_the_jaas_reader_follows_stream_tokenizer() -> None:
    assert parse_jaas('m required username="u\\"\\\\\\n\\101" password=\'p w\';') == (
        "m",
        "required",
        {"username": 'u"\\\nA', "password": "p w"},
    )
    # A raw line break ends a quoted string: what follows is read as new tokens.
    with pytest.raises(ValueError, match="Value not specified"):
        parse_jaas('m required username="a\nb" password="p";')
    # `/` outside quotes starts a comment that runs to the end of the line, value and `;` included.
    with pytest.raises(ValueError, match="Value not specified for key 'path'"):
        parse_jaas("m required path=/tmp/x;")


# --- properties_text -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", TRICKY)
def test_every_value_and_key_reads_back_as_written(value: str) -> None:
    mapping = {"first": value, f"key {value}": "v", "last": "end"}
    text = properties_text(mapping)
    assert load_properties(text) == mapping
    assert all(" " <= c <= "~" for c in text.replace("\n", "")), "printable ASCII only: read alike as Latin-1 or UTF-8"


def test_a_line_break_in_a_value_can_no_longer_add_a_key() -> None:
    text = properties_text({"listeners": "PLAINTEXT://127.0.0.1:9092\nsuper.users=User:ANONYMOUS"})
    assert text.count("\n") == 1
    assert load_properties(text) == {"listeners": "PLAINTEXT://127.0.0.1:9092\nsuper.users=User:ANONYMOUS"}


def test_the_value_with_every_special_character_round_trips() -> None:
    value = 'new\nline = # back\\slash "quote"'
    text = properties_text({"k": value})
    assert text == 'k=new\\nline \\= \\# back\\\\slash "quote"\n'
    assert load_properties(text) == {"k": value}


def test_broker_and_worker_files_read_back_as_their_configs(tmp_path: Path) -> None:
    odd = tmp_path / "data #1=caf\u00e9: x!"
    node = KafkaNode("A", odd / "kafka", 19092, 19093)
    assert load_properties(server_properties(node)) == server_config(node)
    assert load_properties(server_properties(node))["log.dirs"] == str(odd / "kafka" / "kraft-logs")
    worker = ConnectWorker("mm2", odd / "connect", "127.0.0.1:19092", 18083, 19404)
    assert load_properties(worker_properties(worker)) == worker_config(worker)


# --- JAAS --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", TRICKY)
def test_every_jaas_value_reads_back_as_written(value: str) -> None:
    module = "org.apache.kafka.common.security.scram.ScramLoginModule"
    text = jaas_config(module, {"username": value, "password": "${file:/s/mm2-secrets.properties:A.password}"})
    assert parse_jaas(text) == (
        module,
        "required",
        {"username": value, "password": "${file:/s/mm2-secrets.properties:A.password}"},
    )


def test_jaas_quoting_escapes_only_what_the_tokenizer_reads_specially() -> None:
    assert jaas_quoted("plain ${file:/a/b:c} 'x' ;=/") == "\"plain ${file:/a/b:c} 'x' ;=/\""
    assert jaas_quoted('a"b\\c\nd\re') == '"a\\"b\\\\c\\nd\\re"'


def test_a_password_in_the_secrets_file_survives_both_readers() -> None:
    """Connect loads the secrets file (Properties), substitutes the value verbatim into the JAAS text, Kafka parses it."""
    # The config refuses control characters and a `"` or `\\` in a username (config.values); a
    # password may hold `"` and `\\`. Newlines are covered by the tests above, without the config.
    password = 'p"w\\d\\"#=: \u00e9\\'
    cfg = make_config(
        blue={
            "alias": "A",
            "runtime": "external",
            "bootstrapServers": "blue:9092",
            "security": {
                "protocol": "SASL_SSL",
                "saslMechanism": "SCRAM-SHA-512",
                "username": "mm2",
                "password": password,
            },
        }
    )
    jaas = endpoint(cfg.blue, "/w/secrets/mm2-secrets.properties").client_properties["sasl.jaas.config"]
    placeholder = "${file:/w/secrets/mm2-secrets.properties:A.password}"
    assert placeholder in jaas and password not in jaas
    stored = load_properties(secrets_properties({"A.password": password}))["A.password"]
    module, _, options = parse_jaas(jaas.replace(placeholder, stored))
    assert options == {"username": "mm2", "password": password}
    assert module.endswith("ScramLoginModule")


def test_ordinary_usernames_keep_the_jaas_text_existing_stacks_have() -> None:
    cfg = make_config(
        blue={
            "alias": "A",
            "runtime": "external",
            "bootstrapServers": "blue:9092",
            "security": {"protocol": "SASL_SSL", "saslMechanism": "PLAIN", "username": "mm2", "password": "x"},
        }
    )
    assert endpoint(cfg.blue, "/s.properties").client_properties["sasl.jaas.config"] == (
        'org.apache.kafka.common.security.plain.PlainLoginModule required username="mm2" '
        'password="${file:/s.properties:A.password}";'
    )


def test_the_secrets_file_is_never_empty_and_sorted() -> None:
    text = secrets_properties({"B.password": "b", "A.password": "a"})
    assert text.startswith("#") and load_properties(text) == {"A.password": "a", "B.password": "b"}
    assert text.index("A.password") < text.index("B.password")
    assert load_properties(secrets_properties({})) == {} and secrets_properties({})
