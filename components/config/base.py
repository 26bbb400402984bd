"""The base of every stack-config model, and the check shared by their free-text fields.

Field names are snake_case in Python and camelCase in `Pulumi.<stack>.yaml` (the
stack's own vocabulary), for example `producerWaves`, `offsetLagMax`. Every model is
frozen and forbids unknown keys, so a typo fails `pulumi preview` before any resource
is touched, with the field, the value and the fix in the message.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationInfo
from pydantic.alias_generators import to_camel

from kafka_migration.config.values import check_text


class ConfigModel(BaseModel):
    """A model of the stack config: frozen, unknown keys refused, camelCase aliases.

    Mutable defaults are written `Field(default=[...])`: pydantic copies them per instance
    either way, and ruff (RUF012) recognises a pydantic model only by a base class in its own module.
    """

    # hide_input_in_errors: a ValidationError printed as is (a program validating the model itself) shows no
    # input value, so no password; `load.format_errors` shows the values that are safe to show.
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True, hide_input_in_errors=True
    )


def one_line(value: str | None, info: ValidationInfo) -> str | None:
    """A free-text value that reaches a file, a command line or a manifest: no control characters."""
    return None if value is None else check_text(value, to_camel(info.field_name or "value"))
