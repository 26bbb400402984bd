"""Keep the engine's secret flag visible to the validators.

pulumi-policy unwraps secrets before a validator sees them; `install_secret_marks` (run when this
module is imported) keeps the engine's secret flag on strings as `SecretText`, so
`no-plaintext-secrets` can tell a secret from a plain input.
"""

from __future__ import annotations

from typing import Any

import pulumi_policy.policy as sdk_policy
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY


class SecretText(str):
    """A string input the engine marked secret (pulumi-policy alone would hand it over as a plain str)."""

    __slots__ = ()


def is_secret(value: object) -> bool:
    """Whether the engine treats `value` as a secret."""
    return isinstance(value, SecretText)


def _mark_secret(value: Any) -> Any:
    if isinstance(value, str):
        return SecretText(value)
    if isinstance(value, list):
        return [_mark_secret(v) for v in value]
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG_KEY) == SPECIAL_SECRET_SIG:
            return _mark_secret(value.get("value"))
        if SPECIAL_SIG_KEY in value:
            return value  # an asset or archive
        return {k: _mark_secret(v) for k, v in value.items()}
    return value


def mark_secrets(value: Any) -> Any:
    """Replace the engine's secret envelopes in raw properties by their values, strings as `SecretText`."""
    if isinstance(value, list):
        return [mark_secrets(v) for v in value]
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG_KEY) == SPECIAL_SECRET_SIG:
            return _mark_secret(value.get("value"))
        if SPECIAL_SIG_KEY in value:
            return value
        return {k: mark_secrets(v) for k, v in value.items()}
    return value


_UNMARKED_DESERIALIZE = sdk_policy.deserialize_properties


def _deserialize_keeping_secret_marks(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
    return _UNMARKED_DESERIALIZE(props if proxy_secrets else mark_secrets(props), proxy_secrets)


def install_secret_marks() -> None:
    """Make pulumi-policy (1.21) keep secret flags: its Analyze/AnalyzeStack unwrap secrets otherwise.

    Raises:
        RuntimeError: pulumi-policy no longer deserializes through `pulumi_policy.policy.deserialize_properties`;
            without secret flags `no-plaintext-secrets` cannot work, so the pack refuses to start.
    """
    if not callable(getattr(sdk_policy, "deserialize_properties", None)):
        raise RuntimeError(
            "pulumi_policy.policy.deserialize_properties is gone: this pack needs pulumi-policy==1.21.0 "
            "(policy/requirements.txt) to see which inputs are secret"
        )
    sdk_policy.deserialize_properties = _deserialize_keeping_secret_marks


install_secret_marks()
