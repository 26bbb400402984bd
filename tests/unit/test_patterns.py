"""Topic and group patterns: only the subset Java (MM2) and Python read alike, matched as MM2 matches."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kafka_migration.config.patterns import PatternError, any_full_match, check_pattern, full_match
from kafka_migration.config.selection import DEFAULT_TOPIC_EXCLUDES
from tests.unit.builders import config_dict, make_config

ACCEPTED = [
    ".*",
    "orders",
    r"audit\..*",
    *DEFAULT_TOPIC_EXCLUDES,
    "^orders$",
    "orders-v[0-9]+",
    r"[\w.-]+",
    r"\d\D\s\S\w\W",
    "a{3}",
    "a{2}a*",
    "a{2}(?:a?){3}",
    "a{3}?",
    "a*?b+?c??",
    "(?:orders|payments)(-dlq)?",
    "(?!internal).*",
    "(?=a)[a-c]+",
    "[^a-z]",
    "[-a]",
    "[a-z-]",
    r"[\-\]\[\\]",
    r"\.\$\^\{\}\[\]\(\)\|\*\+\?\\",
    "a|",
    "()*",
    "café",
    "my group",
]

REFUSED = [
    ("a,b", "a comma"),
    (" orders", "leading or trailing whitespace"),
    ("orders ", "leading or trailing whitespace"),
    ("orders\n", "control or invisible character '\\n'"),
    ("", "an empty pattern"),
    ("a*+", "possessive quantifier *+"),
    ("a{2}+", "possessive quantifier {2}+"),
    ("(?>a)", "atomic group"),
    ("(?<name>a)", "named group"),
    ("(?P<name>a)", "named group"),
    ("(?<=a)b", "lookbehind"),
    ("(?<!a)b", "negative lookbehind"),
    ("(?i)orders", "inline flag"),
    ("(?i:orders)", "inline flag"),
    ("(?#note)a", "comment"),
    (r"\p{Lower}", "\\p{..}"),
    (r"\Qa.b\E", "\\Q..\\E"),
    (r"\Aorders", "\\A"),
    (r"orders\Z", "\\Z"),
    (r"orders\z", "\\z"),
    (r"\borders", "word boundary \\b"),
    (r"(a)\1", "backreference \\1"),
    (r"\0101", "octal"),
    (r"\h", "\\h"),
    (r"\v", "\\v"),
    (r"\R", "\\R"),
    (r"\x41", "hex escape"),
    (r"\u0041", "Unicode escape"),
    (r"\t", "\\t"),
    ("[[a-z]]", "'[' inside a character class"),
    ("[a-z&&[^x]]", "'&&' inside a character class"),
    ("[a||b]", "'||' inside a character class"),
    ("[:alpha:]", "POSIX class [:alpha:]"),
    ("[]a]", "leading ']'"),
    ("[a-z", "unclosed character class"),
    ("[z-a]", "reversed range z-a"),
    (r"[a-\d]", "range to a class shorthand"),
    ("[a-c-e]", "unescaped '-' that is not a range"),
    ("a{,3}", "the count {,3}, whose comma MM2 reads as a list separator"),
    ("a{2,}", "the count {2,}, whose comma"),
    ("[a-z]{1,20}", "the count {1,20}, whose comma"),
    ("a{x}", "unescaped '{'"),
    ("{", "unescaped '{'"),
    ("a}", "unescaped '}'"),
    ("a]", "unescaped ']'"),
    ("a{5000}", "keep counts at most 1000"),
    ("*a", "nothing to repeat"),
    ("a**", "a quantifier after a quantifier"),
    ("(?=a)*", "nothing to repeat"),
    ("(orders", "unclosed group"),
    ("orders)", "unmatched ')'"),
    ("a^b", "'^' after the start"),
    ("a$b", "'$' before the end"),
    ("(a$)", "'$' before the end"),
    ("orders\\", "trailing backslash"),
]


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_patterns_of_the_shared_subset_are_accepted(pattern: str) -> None:
    assert check_pattern(pattern, "topics.include[0]") == pattern


@pytest.mark.parametrize(("pattern", "construct"), REFUSED)
def test_patterns_outside_the_subset_are_refused_naming_field_pattern_and_construct(
    pattern: str, construct: str
) -> None:
    with pytest.raises(PatternError) as exc:
        check_pattern(pattern, "topics.include[2]")
    message = str(exc.value)
    assert message.startswith(f"topics.include[2] pattern {pattern!r} uses ")
    assert construct in message
    assert "; " in message  # and a fix after it


def test_the_refusal_points_at_the_construct() -> None:
    with pytest.raises(PatternError, match=r"possessive quantifier \*\+ at character 7"):
        check_pattern("orders*+", "consumerGroups[0]")
    with pytest.raises(PatternError, match=r"unclosed group '\(' at character 7"):
        check_pattern("orders(x", "consumerGroups[0]")


def test_matching_is_a_whole_name_match() -> None:
    assert full_match("orders", "orders")
    assert not full_match("orders", "orders-v2")
    assert not full_match("orders", "old-orders")
    assert full_match("orders|payments", "payments")
    assert full_match("a|", "")
    assert full_match("(?!internal).*", "orders") and not full_match("(?!internal).*", "internal-x")


def test_shorthands_are_ascii_as_in_java() -> None:
    # Python 3's str patterns are Unicode-aware unless re.ASCII; Java's are ASCII by default.
    assert full_match(r"\d+", "42")
    assert not full_match(r"\d+", "٤٢")  # Arabic-Indic digits
    assert not full_match(r"\w+", "café")
    assert full_match(r"\W", "é")
    assert not full_match(r"\s", "\u00a0")
    assert full_match(r"\s", "\x0b")


def test_dot_excludes_javas_line_terminators() -> None:
    for terminator in ("\n", "\r", "\u0085", "\u2028", "\u2029"):
        assert not full_match("a.b", f"a{terminator}b")
    assert full_match("a.b", "a\tb")
    assert full_match("[^x]", "\n")


def test_anchors_at_the_ends_change_nothing() -> None:
    for name in ("orders", "orders\n", "xorders", ""):
        assert full_match("^orders$", name) == full_match("orders", name)


def test_a_list_selects_as_mm2_joins_it() -> None:
    assert any_full_match(["orders", r"audit\..*"], "audit.log")
    assert not any_full_match([], "orders")


def test_the_stack_config_refuses_a_pattern_outside_the_subset_with_its_field() -> None:
    with pytest.raises(ValidationError) as exc:
        make_config(topics={"include": ["orders", "(?i)payments"]})
    [error] = exc.value.errors()
    assert error["loc"] == ("topics", "include")
    assert "topics.include[1] pattern '(?i)payments' uses an inline flag" in error["msg"]

    with pytest.raises(ValidationError) as exc:
        make_config(topics={"include": ["orders"], "exclude": ["a,b"]})
    assert "topics.exclude[0] pattern 'a,b' uses a comma" in exc.value.errors()[0]["msg"]

    with pytest.raises(ValidationError) as exc:
        make_config(consumerGroups=["billing", "bill*+"])
    [error] = exc.value.errors()
    assert error["loc"] == ("consumerGroups",)
    assert "consumerGroups[1] pattern 'bill*+' uses the possessive quantifier" in error["msg"]


def test_topic_selection_uses_the_shared_matcher() -> None:
    cfg = make_config(**{**config_dict(), "topics": {"include": [r"t\d+"]}, "clients": []})
    assert cfg.topics.selects("t42")
    assert not cfg.topics.selects("t٤٢")
    assert not cfg.topics.selects("t42x")
