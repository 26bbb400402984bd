"""What an error message may show of a config value: never a password, key, token or credential.

A config error names the field and shows the value it got, so that the user can find it;
for a secret that would print the secret into a terminal, a CI log or a Pulumi event
stream. `shown_value` decides by where the value is and what it looks like:

- anything under a cluster's `security` except `protocol`, `saslMechanism`, `username`
  and `caFile` (so a mistyped `passwrod:` is redacted too);
- any key whose name looks secret (password, passwd, pass, pwd, secret, token, key,
  credential, jaas, private; case-insensitive, in camelCase or with separators, and
  misspellings close to them such as `pasword`, `secert`, `tokn`);
- any string that carries a secret itself: `password=...` (a JAAS line), `password: ...`,
  `secret=`, `token=`, `apiKey=`, a URL with `user:password@`.

Redacted values are shown as `<redacted, 7 characters>` (a string) or `<redacted int>`:
enough to tell an empty value from a long one, nothing of the content.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from difflib import SequenceMatcher

SECRET_WORDS = ("password", "passwd", "pass", "pwd", "secret", "token", "key", "credential", "jaas", "private")
"""Key names containing one of these (case-insensitive) hold secrets."""
SAFE_SECURITY_KEYS = frozenset({"protocol", "saslMechanism", "sasl_mechanism", "username", "caFile", "ca_file"})
"""The keys under `security` whose values are shown; every other (password, a typo of it) is redacted."""
FUZZY_RATIO = 0.75
"""How close a word of a key name must be to a secret word (difflib's ratio) to count as a misspelling of it."""

_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_SECRET_ASSIGNMENT = re.compile(r"(?i)(password|passwd|pwd|secret|token|api[_.-]?key)(\s*[=:]\s*)")
_ASSIGNED_VALUE = re.compile(
    r"""(?i)(password|passwd|pwd|secret|token|api[_.-]?key)(\s*[=:]\s*)("[^"]*"?|'[^']*'?|[^\s;,"']+)"""
)
_USERINFO = re.compile(r"(?i)([a-z][a-z0-9+.-]*://)?[^\s/@,;'\"]+@")
_URL_WITH_PASSWORD = re.compile(r"(?i)[a-z][a-z0-9+.-]*://[^\s/@]*:[^\s/@]*@")
REDACTED = "<redacted>"


def secret_key(name: str) -> bool:
    """Whether a config key's name looks like it holds a secret (or is a misspelling of such a name)."""
    normalized = re.sub(r"[^a-z0-9]", "", name.lower())
    if any(word in normalized for word in SECRET_WORDS):
        return True
    words = [w.lower() for w in _WORDS.findall(name)] + [normalized]
    return any(SequenceMatcher(None, w, s).ratio() >= FUZZY_RATIO for w in words for s in SECRET_WORDS if len(s) >= 4)


def secret_location(loc: tuple[str | int, ...]) -> bool:
    """Whether the value at this config path (pydantic's `loc`, camelCase keys) may be a secret."""
    keys = [part for part in loc if isinstance(part, str)]
    if any(secret_key(k) for k in keys):
        return True
    if "security" in keys:
        after = keys[keys.index("security") + 1 :]
        return not after or after[0] not in SAFE_SECURITY_KEYS
    return False


def secret_content(value: object) -> bool:
    """Whether a value carries a secret in itself (`password=...`, `user:password@host`), at any depth."""
    if isinstance(value, str):
        return bool(_SECRET_ASSIGNMENT.search(value) or _URL_WITH_PASSWORD.search(value))
    if isinstance(value, Mapping):
        return any(secret_key(str(k)) or secret_content(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(secret_content(v) for v in value)
    return False


def redacted(value: object) -> str:
    """A redacted stand-in that tells the kind and size of a value, not its content."""
    if isinstance(value, str):
        return f"<redacted, {len(value)} character{'s' if len(value) != 1 else ''}>"
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return f"<redacted {type(value).__name__} of {len(value)}>"
    return f"<redacted {type(value).__name__}>"


def is_secret(loc: tuple[str | int, ...], value: object) -> bool:
    """Whether the value at `loc` must not be shown."""
    return secret_location(loc) or secret_content(value)


def shown_value(loc: tuple[str | int, ...], value: object) -> str:
    """How an error message shows the value at `loc`: its repr, or a redacted stand-in."""
    return redacted(value) if is_secret(loc, value) else repr(value)


def without_userinfo(text: str) -> str:
    """`text` with any `user:password@` of an address or URL replaced by `<redacted>@`."""
    return _USERINFO.sub(lambda m: f"{m.group(1) or ''}{REDACTED}@", text)


def scrub(text: str) -> str:
    """A message with every `password=...`-like assignment and URL credentials redacted."""
    text = _ASSIGNED_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _URL_WITH_PASSWORD.sub(lambda m: f"{m.group(0).split('://', 1)[0]}://{REDACTED}@", text)


def scrub_message(message: str, loc: tuple[str | int, ...], value: object) -> str:
    """An error message about the value at `loc`, with the value itself removed if it is secret."""
    if isinstance(value, str) and len(value) >= 3 and is_secret(loc, value):
        message = message.replace(repr(value), REDACTED).replace(value, REDACTED)
    return scrub(message)
