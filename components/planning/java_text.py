r"""Text that Java reads back: `.properties` files and JAAS option values, escaped so a value stays one value.

- `properties_text` writes what `java.util.Properties.load` reads (the broker's and the
  Connect worker's config files, the secrets file behind `${file:...}`, Log4j2's config):
  `\`, line breaks, tab and form feed, `=`, `:`, `#`, `!` and a value's leading space are
  escaped as `Properties.store` escapes them, and every character outside printable ASCII
  becomes `\uXXXX` (UTF-16 units), so the file reads the same as ISO-8859-1 (Kafka's
  `Utils.loadProps`) or UTF-8 (`FileConfigProvider`). A line break in a value can therefore
  never start a key of its own.
- `jaas_quoted` writes one option value of a `sasl.jaas.config` as Kafka's `JaasConfig`
  reads it: a `StreamTokenizer` with `"` as quote character, which ends a quoted string at
  the closing quote *or at a raw line break*, and reads `\\`, `\"`, `\n`, `\r` (and
  `\t`, octal...) as escapes. So `\` and `"` are escaped, and CR/LF are written as `\r`/`\n`.

Nothing here reads or writes files.
"""

from __future__ import annotations

from collections.abc import Mapping

_PROPERTIES_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f"}
_PROPERTIES_SPECIALS = frozenset("=:#!")
_JAAS_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}


def _unicode_escape(char: str) -> str:
    r"""`\uXXXX` for each UTF-16 unit of `char` (a surrogate pair beyond the BMP)."""
    data = char.encode("utf-16-be")
    return "".join(f"\\u{int.from_bytes(data[i : i + 2], 'big'):04X}" for i in range(0, len(data), 2))


def properties_escape(text: str, *, key: bool) -> str:
    """`text` as a key (every space escaped) or a value (a leading space escaped) of a `.properties` line."""
    out = []
    for i, char in enumerate(text):
        if char == " ":
            out.append("\\ " if key or i == 0 else " ")
        elif char in _PROPERTIES_ESCAPES:
            out.append(_PROPERTIES_ESCAPES[char])
        elif char in _PROPERTIES_SPECIALS:
            out.append("\\" + char)
        elif " " < char <= "~":
            out.append(char)
        else:
            out.append(_unicode_escape(char))
    return "".join(out)


def properties_text(mapping: Mapping[str, str]) -> str:
    """`key=value` lines, in the mapping's order, that `java.util.Properties.load` reads back as `mapping`."""
    return "".join(f"{properties_escape(k, key=True)}={properties_escape(v, key=False)}\n" for k, v in mapping.items())


def jaas_escaped(value: str) -> str:
    """`value` as the inside of a double-quoted JAAS option value (without the quotes)."""
    return "".join(_JAAS_ESCAPES.get(char, char) for char in value)


def jaas_quoted(value: str) -> str:
    """`value` as a double-quoted JAAS option value that Kafka's `JaasConfig` reads back as `value`."""
    return f'"{jaas_escaped(value)}"'


def jaas_config(login_module: str, options: Mapping[str, str]) -> str:
    """A one-entry `sasl.jaas.config`: `<login module> required <option>="<value>" ...;`, every value quoted.

    `login_module` and the option names are this package's constants (Java class names and
    `username`/`password`), never user input: only the values are escaped.
    """
    return " ".join([login_module, "required", *(f"{k}={jaas_quoted(v)}" for k, v in options.items())]) + ";"
