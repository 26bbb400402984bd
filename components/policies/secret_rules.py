"""The no-plaintext-secrets rule: SASL and JAAS passwords never travel as plain inputs.

A plain input lands unencrypted in the state and in every diff, and Kafka Connect stores
connector configs in plain text, so a connector config may only reference a password.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pulumi_policy import ReportViolation, ResourceValidationArgs

from kafka_migration.policies.inputs import string_leaves
from kafka_migration.policies.scope import MIRROR_CONNECTOR, with_runbook
from kafka_migration.policies.secret_marks import is_secret

_JAAS_KEY = re.compile(r"(?i)sasl[._]?jaas[._]?config$")
_PASSWORD_KEY = re.compile(r"(?i)(?:^|[._-]|sasl)password$")
_JAAS_PASSWORD = re.compile(r"""(?i)\bpassword\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;"']+))""")
_CONFIG_REFERENCE = re.compile(r"\$\{[A-Za-z0-9_.-]+:[^}]*\}")


def _is_reference(value: str) -> bool:
    """A Kafka config-provider reference (`${file:path:key}`, `${env:NAME}`, `${strimzisecrets:ns/secret:key}`)."""
    return _CONFIG_REFERENCE.fullmatch(value.strip()) is not None


def _path_text(path: Sequence[str | int]) -> str:
    text = ""
    for i, key in enumerate(path):
        if isinstance(key, int):
            text += f"[{key}]"
        elif i == 0:
            text += key
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            text += f".{key}"
        else:
            text += f'["{key}"]'
    return text


def literal_jaas_password(jaas: str) -> bool:
    """Whether a JAAS config carries a password literally (not as a config-provider reference)."""
    for match in _JAAS_PASSWORD.finditer(jaas):
        value = next(g for g in match.groups() if g is not None)
        if value and not _is_reference(value):
            return True
    return False


def validate_no_plaintext_secrets(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """No SASL password or JAAS password as a plain input; none at all in a connector's config."""
    connector = args.resource_type == MIRROR_CONNECTOR
    for path, value in string_leaves(args.props):
        key = str(path[-1]) if path else ""
        in_connector_config = connector and path[:1] == ("config",)
        where = f"{args.resource_type} input `{_path_text(path)}`"
        if _JAAS_KEY.search(key) and literal_jaas_password(value):
            if in_connector_config:
                report_violation(
                    with_runbook(
                        f"{where} has a literal password: Kafka Connect stores connector configs in plain text (its "
                        "config topic, its REST API). Reference it through a config provider instead, "
                        'password="${file:<secrets file>:<alias>.password}" (or ${env:...}, ${strimzisecrets:...}), '
                        "as planning/mm2.py endpoint() does, and keep the value in <cluster>.security.password "
                        "(`pulumi config set --secret --path <cluster>.security.password`)."
                    ),
                    args.urn,
                )
            elif not is_secret(value):
                report_violation(
                    with_runbook(
                        f"{where} has a literal password and is not a secret, so the state and every diff show it. "
                        "Pass it as pulumi.Output.secret(...) or reference it (${file:...}, ${env:...}); keep the "
                        "value in <cluster>.security.password (`pulumi config set --secret --path "
                        "<cluster>.security.password`)."
                    ),
                    args.urn,
                )
        elif _PASSWORD_KEY.search(key) and value and not _is_reference(value):
            if in_connector_config:
                report_violation(
                    with_runbook(
                        f"{where} is a literal password in a connector config, which Kafka Connect stores in plain "
                        "text; reference it (${file:<secrets file>:<key>}, ${env:...}, ${strimzisecrets:...})."
                    ),
                    args.urn,
                )
            elif not is_secret(value):
                report_violation(
                    with_runbook(
                        f"{where} is a password in a plain (non-secret) input, stored unencrypted in the state; set it "
                        "with `pulumi config set --secret --path <cluster>.security.password` and pass it as "
                        "pulumi.Output.secret(...) (components/kafka_provider.py does)."
                    ),
                    args.urn,
                )
