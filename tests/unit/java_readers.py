r"""How Java reads what `planning.java_text` writes, re-implemented here for the unit tests (no JVM runs them).

- `load_properties`: `java.util.Properties.load`'s rules (its `LineReader` and `loadConvert`):
  natural lines end at LF, CR or CRLF; a line whose first non-blank character is `#` or `!`
  is a comment (only at the start of a logical line); a line ending in an odd number of
  backslashes continues on the next one, whose leading blanks are dropped (an empty
  continuation ends it); the key ends at the first unescaped `=`, `:` or blank, then blanks,
  one `=` or `:`, and blanks are skipped; `\t \n \r \f \uXXXX` are escapes, any other
  escaped character stands for itself.
- `parse_jaas`: Kafka's `JaasConfig` (one login module entry) over `java.io.StreamTokenizer`
  set up as it sets it up: characters 0-32 are blanks, `;` and `=` single tokens, `"` and `'`
  quote characters, `/` a comment character (and `//`, `/* */` comments); a quoted string
  ends at its closing quote or at a raw CR/LF, and reads `\a \b \f \n \r \t \v`, octal
  `\0`-`\377` and `\<any other>` as escapes.
"""

from __future__ import annotations

import re

BLANKS = " \t\f"
_PROPERTY_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_QUOTE_ESCAPES = {"a": "\x07", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\x0b"}


def _continues(line: str) -> bool:
    trailing = len(line) - len(line.rstrip("\\"))
    return trailing % 2 == 1


def _logical_lines(text: str) -> list[str]:
    natural = re.split(r"\r\n|\r|\n", text)
    out, i = [], 0
    while i < len(natural):
        line = natural[i].lstrip(BLANKS)
        i += 1
        if not line or line[0] in "#!":
            continue
        while _continues(line):
            line = line[:-1]
            if i >= len(natural):
                break
            following = natural[i].lstrip(BLANKS)
            i += 1
            if not following:
                break
            line += following
        out.append(line)
    return out


def _unescape(text: str) -> str:
    out, j = [], 0
    while j < len(text):
        char = text[j]
        j += 1
        if char != "\\":
            out.append(char)
            continue
        if j >= len(text):
            break
        char = text[j]
        j += 1
        if char == "u":
            digits = text[j : j + 4]
            if len(digits) < 4 or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError("Malformed \\uxxxx encoding.")
            out.append(chr(int(digits, 16)))
            j += 4
        else:
            out.append(_PROPERTY_ESCAPES.get(char, char))
    # Java strings are UTF-16: a surrogate pair written as two \uXXXX is one character.
    return "".join(out).encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def _split(line: str) -> tuple[str, str]:
    key_end = value_start = len(line)
    separator = backslash = False
    for j, char in enumerate(line):
        if not backslash and char in "=:":
            key_end, value_start, separator = j, j + 1, True
            break
        if not backslash and char in BLANKS:
            key_end, value_start = j, j + 1
            break
        backslash = char == "\\" and not backslash
    while value_start < len(line) and line[value_start] in BLANKS:
        value_start += 1
    if not separator and value_start < len(line) and line[value_start] in "=:":
        value_start += 1
        while value_start < len(line) and line[value_start] in BLANKS:
            value_start += 1
    return line[:key_end], line[value_start:]


def load_properties(text: str) -> dict[str, str]:
    """What `new Properties().load(reader)` holds after reading `text` (later keys win, as in Java)."""
    props = {}
    for line in _logical_lines(text):
        key, value = _split(line)
        props[_unescape(key)] = _unescape(value)
    return props


# --- JAAS ------------------------------------------------------------------------------------------------------


def _quoted(text: str, i: int, quote: str) -> tuple[str, int]:
    """The quoted string whose opening quote is at i-1: its value and the index after it."""
    out = []
    while i < len(text) and text[i] != quote and text[i] not in "\r\n":
        char = text[i]
        i += 1
        if char != "\\":
            out.append(char)
            continue
        if i >= len(text):
            break
        char = text[i]
        i += 1
        if "0" <= char <= "7":
            value, first = int(char), char
            if i < len(text) and "0" <= text[i] <= "7":
                value = value * 8 + int(text[i])
                i += 1
                if i < len(text) and "0" <= text[i] <= "7" and first <= "3":
                    value = value * 8 + int(text[i])
                    i += 1
            out.append(chr(value))
        else:
            out.append(_QUOTE_ESCAPES.get(char, char))
    if i < len(text) and text[i] == quote:
        i += 1
    return "".join(out), i


def jaas_tokens(text: str) -> list[tuple[str, str]]:
    """StreamTokenizer's tokens: ("word", s), ("quoted", s) or ("char", c) for `;` and `=`."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if ord(char) <= 32:
            i += 1
        elif char == "/":
            if text.startswith("/*", i):
                end = text.find("*/", i + 2)
                i = len(text) if end < 0 else end + 2
            else:  # `//` or `/` alone (a comment character): the rest of the line
                while i < len(text) and text[i] not in "\r\n":
                    i += 1
        elif char in "\"'":
            value, i = _quoted(text, i + 1, char)
            tokens.append(("quoted", value))
        elif char in ";=":
            tokens.append(("char", char))
            i += 1
        else:
            start = i
            while i < len(text) and ord(text[i]) > 32 and text[i] not in ";=/\"'":
                i += 1
            tokens.append(("word", text[start:i]))
    return tokens


def parse_jaas(text: str) -> tuple[str, str, dict[str, str]]:
    """(login module, control flag, options) of a one-entry `sasl.jaas.config`, or ValueError as Kafka refuses it."""
    tokens = jaas_tokens(text)
    if len(tokens) < 2 or tokens[0][0] != "word":
        raise ValueError("Login module not specified in JAAS config")
    module, flag = tokens[0][1], tokens[1][1]
    options: dict[str, str] = {}
    i = 2
    while i < len(tokens) and tokens[i] != ("char", ";"):
        key = tokens[i][1]
        if i + 2 >= len(tokens) or tokens[i + 1] != ("char", "=") or tokens[i + 2][0] == "char":
            raise ValueError(f"Value not specified for key '{key}' in JAAS config")
        options[key] = tokens[i + 2][1]
        i += 3
    if i >= len(tokens):
        raise ValueError("JAAS config entry not terminated by semi-colon")
    if i + 1 != len(tokens):
        raise ValueError("more than one login module entry")
    return module, flag, options
