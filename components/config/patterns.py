r"""Topic and group patterns that Python and MirrorMaker 2 read the same way.

MM2 compiles `topics`, `topics.exclude`, `groups` and `groups.exclude` with Java's
`java.util.regex.Pattern` (each a comma-separated list, joined with `|`) and keeps a name
when `matcher(name).matches()`: a whole-name match. This project selects topics in Python
too (the topic mirror, the gates, the status command), so a pattern is accepted only in a
subset both engines read alike:

- literals (any printable character but a metacharacter), `.`, `\d \w \s \D \W \S`,
  a backslash before ASCII punctuation (`\.`, `\-`, `\$`...);
- character classes `[...]`, `[^...]` of literals, escapes and ranges `a-z` (an unescaped
  `-` only first or last; no nested classes `[[`, no `&&`, `||`, `--`, `~~`, no POSIX or
  Unicode classes);
- quantifiers `* + ? {m}` (m <= 1000) and their lazy forms (`*?`...); not `{m,n}` or `{m,}`:
  MM2 splits the list at their comma (`a{2,3}` would become `a{2` and `3}`), write
  `a{2}(?:a?){1}` and `a{2}a*` instead;
- alternation `|`, groups `( )` and `(?: )`, lookahead `(?= )` and `(?! )` (both engines
  evaluate it alike: it is the one way to say "all but" inside a single pattern);
- `^` as the pattern's first and `$` as its last character (no-ops under a whole-name match).

Refused, each with the construct named: a comma (MM2 splits its lists on commas), leading
or trailing whitespace (MM2 trims it), control characters, possessive quantifiers,
atomic groups, named groups, lookbehind (Java accepts bounded widths, Python only fixed
ones), inline flags `(?i)`, comments `(?#`, backreferences, `\p{..}`, `\Q..\E`,
`\A \Z \z \b \B \G \h \v \R \X`, `\x..`, `\u....`, octal and other letter escapes, an
unescaped `{`, `}` or `]` that is not part of the syntax above.

The Python form is compiled with `re.ASCII` (Java's `\d \w \s` are ASCII unless
UNICODE_CHARACTER_CLASS; Python 3's are Unicode otherwise), `.` is rewritten to Java's
"anything but a line terminator" (`\n \r \u0085 \u2028 \u2029`; Python's `.` excludes only
`\n`), and matching is `fullmatch`. `tests/integration/test_java_patterns.py` checks a
table of patterns and names against a real JVM.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as _field
from functools import lru_cache

MAX_REPEAT = 1000
"""Largest count in `{m,n}`: larger ones are almost always a typo, and cost both engines memory."""

_JAVA_DOT = "[^\\n\\r\\x85\\u2028\\u2029]"
"""Java's `.` (no DOTALL, no UNIX_LINES) in Python syntax: anything but a line terminator."""
_SHORTHANDS = frozenset("dwsDWS")
_PUNCTUATION = frozenset(string.punctuation)
_META = frozenset("\\.[](){}*+?|^$")

_LETTER_ESCAPES = {
    "p": "a Unicode/POSIX class \\p{..}",
    "P": "a Unicode/POSIX class \\P{..}",
    "Q": "a quotation \\Q..\\E",
    "E": "a quotation end \\E",
    "A": "the anchor \\A",
    "Z": "the anchor \\Z",
    "z": "the anchor \\z",
    "b": "the word boundary \\b",
    "B": "the word boundary \\B",
    "G": "the anchor \\G",
    "h": "the class \\h (Java only)",
    "H": "the class \\H (Java only)",
    "v": "the escape \\v (a class in Java, a character in Python)",
    "V": "the class \\V (Java only)",
    "R": "the linebreak matcher \\R (Java only)",
    "X": "the grapheme cluster \\X (Java only)",
    "N": "a named character \\N{..}",
    "k": "a named backreference \\k<..>",
    "x": "a hex escape \\x..",
    "u": "a Unicode escape \\u....",
    "U": "a Unicode escape \\U........",
    "c": "a control character escape \\c.",
    "e": "the escape \\e (Java only)",
    "a": "the escape \\a",
    "t": "the escape \\t (a tab: topic and group names have none)",
    "n": "the escape \\n (a newline: topic and group names have none)",
    "r": "the escape \\r",
    "f": "the escape \\f",
}

_GROUP_OPENERS = (
    ("(?P<", "a named group (?P<name>..)"),
    ("(?P=", "a named backreference (?P=name)"),
    ("(?<=", "a lookbehind (?<=..)"),
    ("(?<!", "a negative lookbehind (?<!..)"),
    ("(?<", "a named group (?<name>..)"),
    ("(?>", "an atomic group (?>..)"),
    ("(?#", "a comment (?#..)"),
    ("(?(", "a conditional group (?(..)..)"),
)


class PatternError(ValueError):
    """A pattern outside the subset Python and MM2's Java regexes read the same way."""

    def __init__(self, field: str, pattern: str, construct: str, fix: str) -> None:
        self.field, self.pattern, self.construct = field, pattern, construct
        super().__init__(f"{field} pattern {pattern!r} uses {construct}; {fix}")


@dataclass
class _Scan:
    """The state of one pattern's scan (`_translate`)."""

    field: str
    pattern: str
    pos: int = 0
    depth: int = 0
    quantifiable: bool = False
    """Whether the last item can take a quantifier (an atom or a group, not a lookahead)."""
    groups: list[tuple[int, bool]] = _field(default_factory=list)
    """The open groups, innermost last: where each starts and whether it takes a quantifier once closed."""

    def refuse(self, construct: str, fix: str) -> PatternError:
        return PatternError(self.field, self.pattern, f"{construct} at character {self.pos + 1}", fix)

    def peek(self, text: str) -> bool:
        return self.pattern.startswith(text, self.pos)


def _char_problem(ch: str) -> str | None:
    if ch == ",":
        return "a comma (MM2 splits pattern lists on commas, so it would become two patterns)"
    category = unicodedata.category(ch)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return f"the control or invisible character {ch!r}"
    return None


def _escape(scan: _Scan, in_class: bool) -> tuple[str, bool]:
    """The escape at `scan.pos` (a backslash): its Python form and whether it is one character."""
    p = scan.pattern
    if scan.pos + 1 >= len(p):
        raise scan.refuse("a trailing backslash", "escape a literal backslash as \\\\")
    ch = p[scan.pos + 1]
    if ch in _SHORTHANDS:
        scan.pos += 2
        return "\\" + ch, False
    if ch in _PUNCTUATION:
        problem = _char_problem(ch)
        if problem:
            raise scan.refuse(problem, "remove it; use '.' for any one character")
        scan.pos += 2
        return "\\" + ch, True
    if ch.isdigit():
        what = "an octal escape" if ch == "0" or in_class else f"a backreference \\{ch}"
        raise scan.refuse(what, "Python and Java read it differently; write the characters out")
    what = _LETTER_ESCAPES.get(ch, f"the escape \\{ch}")
    raise scan.refuse(
        what,
        "use only \\d \\w \\s \\D \\W \\S and a backslash before punctuation (\\. \\- \\$ ...); "
        "patterns match whole names, so anchors are not needed",
    )


def _class(scan: _Scan) -> str:
    """The character class at `scan.pos` (a `[`), in Python form."""
    p, start = scan.pattern, scan.pos
    scan.pos += 1
    out = ["["]
    if scan.peek("^"):
        out.append("^")
        scan.pos += 1
    first = scan.pos
    posix = re.match(r":[a-z]*:\]", p[first:])
    if posix:
        raise scan.refuse(
            f"what looks like a POSIX class [{posix.group(0)}",
            "neither engine reads it as one here; write the characters, as [a-zA-Z]",
        )
    while scan.pos < len(p):
        if p[scan.pos] == "]":
            if scan.pos == first:
                raise scan.refuse("an empty class or a leading ']'", "escape a literal ']' as \\]")
            scan.pos += 1
            return "".join([*out, "]"])
        out.append(_class_member(scan, first))
    scan.pos = start
    raise scan.refuse("an unclosed character class", "close it with ']' (escape a literal '[' as \\[)")


def _class_member(scan: _Scan, first: int) -> str:
    """One member of a class (a character, an escape or a range), in Python form."""
    p, ch = scan.pattern, scan.pattern[scan.pos]
    if ch == "[":
        raise scan.refuse(
            "'[' inside a character class (a nested class, or a POSIX class [:..:])",
            "write one flat class such as [a-z0-9._-]; escape a literal '[' as \\[",
        )
    for double in ("&&", "||", "--", "~~"):
        if scan.peek(double):
            raise scan.refuse(
                f"{double!r} inside a character class (set operations in Java or Python)",
                "write the character once, or escape it",
            )
    if ch == "-" and scan.pos != first and p[scan.pos + 1 : scan.pos + 2] != "]":
        raise scan.refuse("an unescaped '-' that is not a range", "put '-' first or last, or write \\-")
    low, single = _class_char(scan)
    if not (single and scan.peek("-") and p[scan.pos + 1 : scan.pos + 2] not in ("]", "")):
        return low
    range_at = scan.pos
    scan.pos += 1
    high, high_single = _class_char(scan)
    if not high_single:
        scan.pos = range_at
        raise scan.refuse("a range to a class shorthand", "ranges go between two single characters, as a-z")
    if _literal(low) > _literal(high):
        scan.pos = range_at
        raise scan.refuse(f"the reversed range {low}-{high}", "write the lower character first")
    return f"{low}-{high}"


def _class_char(scan: _Scan) -> tuple[str, bool]:
    """One member of a class: its Python form and whether it is a single character."""
    ch = scan.pattern[scan.pos]
    if ch == "\\":
        return _escape(scan, in_class=True)
    problem = _char_problem(ch)
    if problem:
        raise scan.refuse(problem, "remove it")
    scan.pos += 1
    return ch, True


def _literal(item: str) -> str:
    return item[1] if item.startswith("\\") else item


def _quantifier(scan: _Scan) -> str | None:
    """The quantifier at `scan.pos`, if any, in Python form (with its lazy `?`)."""
    p = scan.pattern
    ch = p[scan.pos]
    if ch in "*+?":
        text = ch
        end = scan.pos + 1
    elif ch == "{":
        m = re.match(r"\{(\d+)\}", p[scan.pos :])
        if m is None:
            raise scan.refuse("an unescaped '{' that is not a count {m}", "escape a literal '{' as \\{")
        if int(m.group(1)) > MAX_REPEAT:
            raise scan.refuse(f"the count {m.group(0)}", f"keep counts at most {MAX_REPEAT}")
        text = m.group(0)
        end = scan.pos + len(text)
    else:
        return None
    if not scan.quantifiable:
        raise scan.refuse(f"the quantifier {text} with nothing to repeat", "put it after a character, class or group")
    scan.pos = end
    if scan.peek("?"):
        scan.pos += 1
        text += "?"
    elif scan.peek("+"):
        scan.pos = end - len(text)
        raise scan.refuse(f"the possessive quantifier {text}+", f"use {text} or {text}?")
    if scan.pos < len(p) and (p[scan.pos] in "*+?" or (p[scan.pos] == "{" and re.match(r"\{\d", p[scan.pos :]))):
        raise scan.refuse("a quantifier after a quantifier", "use one quantifier, or group the repeated part")
    scan.quantifiable = False
    return text


def _group_open(scan: _Scan) -> tuple[str, bool]:
    """The group opener at `scan.pos`: its Python form and whether the group may be quantified."""
    for opener, quantifiable in (("(?:", True), ("(?=", False), ("(?!", False)):
        if scan.peek(opener):
            scan.pos += len(opener)
            return opener, quantifiable
    if scan.peek("(?"):
        for opener, what in _GROUP_OPENERS:
            if scan.peek(opener):
                raise scan.refuse(what, "use ( ), (?: ), (?= ) or (?! )")
        raise scan.refuse(
            "an inline flag (?..)", "flags such as (?i) differ between the engines; spell out the cases, as [Oo]rders"
        )
    scan.pos += 1
    return "(", True


def _anchor(scan: _Scan) -> str | None:
    """`^` at the very start or `$` at the very end (no-ops under a whole-name match), in Python form."""
    ch = scan.pattern[scan.pos]
    if ch == "^":
        if scan.pos != 0:
            raise scan.refuse("'^' after the start", "patterns match whole names: drop it, or write \\^")
        scan.pos += 1
        return "^"
    if ch == "$":
        if scan.pos != len(scan.pattern) - 1 or scan.groups:
            raise scan.refuse("'$' before the end", "patterns match whole names: drop it, or write \\$")
        scan.pos += 1
        return "\\Z"
    return None


def _item(scan: _Scan) -> str:
    """The next atom, group parenthesis or `|` at `scan.pos`, in Python form."""
    ch = scan.pattern[scan.pos]
    if ch == "|":
        scan.pos += 1
        scan.quantifiable = False
        return "|"
    if ch == "(":
        start = scan.pos
        opener, quantifiable = _group_open(scan)
        scan.groups.append((start, quantifiable))
        scan.quantifiable = False
        return opener
    if ch == ")":
        if not scan.groups:
            raise scan.refuse("an unmatched ')'", "remove it or escape it as \\)")
        scan.pos += 1
        scan.quantifiable = scan.groups.pop()[1]
        return ")"
    if ch in "]}":
        raise scan.refuse(f"an unescaped {ch!r}", f"escape a literal {ch!r} as \\{ch}")
    scan.quantifiable = True
    if ch == "[":
        return _class(scan)
    if ch == "\\":
        return _escape(scan, in_class=False)[0]
    scan.pos += 1
    return _JAVA_DOT if ch == "." else ch


def _translate(pattern: str, field: str) -> str:
    """The Python form of a pattern in the shared subset, or PatternError naming what is not."""
    scan = _Scan(field, pattern)
    if pattern == "":
        raise scan.refuse("nothing (an empty pattern)", "remove it, or write the names it should match")
    count = re.search(r"\{\d*,\d*\}", pattern)
    if count:
        scan.pos = count.start()
        raise scan.refuse(
            f"the count {count.group(0)}, whose comma MM2 reads as a list separator (two broken patterns)",
            "write x{m,n} as x{m}(?:x?){n-m} and x{m,} as x{m}x*, as a{2}(?:a?){3} for a{2,5}",
        )
    for scan.pos, ch in enumerate(pattern):
        problem = _char_problem(ch)
        if problem:
            raise scan.refuse(problem, "remove it; use '.' for any one character")
    scan.pos = 0
    if pattern != pattern.strip():
        raise scan.refuse("leading or trailing whitespace", "remove it (MM2 trims it, Python would not)")
    out: list[str] = []
    while scan.pos < len(pattern):
        out.append(_anchor(scan) or _quantifier(scan) or _item(scan))
    if scan.groups:
        scan.pos = scan.groups[-1][0]
        raise scan.refuse("an unclosed group '('", "close it with ')' or escape a literal '(' as \\(")
    return "".join(out)


def check_pattern(pattern: str, field: str) -> str:
    """`pattern` as given, if both engines read it alike; otherwise PatternError naming field, pattern, construct."""
    _translate(pattern, field)
    return pattern


def check_patterns(patterns: Iterable[str], field: str) -> list[str]:
    """Every pattern of a list field (`topics.include[2]` names the offending one)."""
    checked = list(patterns)
    for i, p in enumerate(checked):
        check_pattern(p, f"{field}[{i}]")
    return checked


@lru_cache(maxsize=4096)
def compiled(pattern: str) -> re.Pattern[str]:
    """The Python regex that accepts exactly the names MM2's Java regex accepts (use with `fullmatch`)."""
    return re.compile(_translate(pattern, "pattern"), re.ASCII)


def full_match(pattern: str, name: str) -> bool:
    """Whether `name` matches the whole of `pattern`, as MM2's `Pattern.compile(p).matcher(name).matches()`."""
    return compiled(pattern).fullmatch(name) is not None


def any_full_match(patterns: Iterable[str], name: str) -> bool:
    """Whether any pattern of a list matches `name`: MM2 joins a list with `|` and matches the whole name."""
    return any(full_match(p, name) for p in patterns)
