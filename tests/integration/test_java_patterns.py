"""Java agrees: every accepted pattern selects in Python exactly the names MM2's Java regex selects.

MM2 joins a pattern list with `|`, compiles it with `java.util.regex.Pattern` and keeps a name
when `matcher(name).matches()` (MirrorUtils.compilePatternList, DefaultTopicFilter,
DefaultGroupFilter). One JVM (Java's single-file launcher, no javac) answers a table of
pattern lists x names; Python's answer is `patterns.any_full_match` on the same list.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kafka_migration.config.patterns import any_full_match, check_pattern
from kafka_migration.config.selection import DEFAULT_TOPIC_EXCLUDES

pytestmark = pytest.mark.integration

JAVA_SOURCE = """
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

public class PatternCheck {
    static String unhex(String hex) {
        byte[] bytes = new byte[hex.length() / 2];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        Map<String, Pattern> compiled = new HashMap<>();
        StringBuilder out = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
            String[] parts = line.split(" ", -1);
            List<String> fields = new ArrayList<>();
            for (String hex : parts[0].split(",", -1)) {
                fields.add(unhex(hex));
            }
            // As MirrorUtils.compilePatternList: the list joined with '|', compiled without flags.
            String joined = String.join("|", fields);
            try {
                Pattern pattern = compiled.computeIfAbsent(joined, Pattern::compile);
                out.append(pattern.matcher(unhex(parts[1])).matches() ? "1" : "0").append('\\n');
            } catch (PatternSyntaxException e) {
                out.append("E ").append(e.getDescription()).append('\\n');
            }
        }
        System.out.print(out);
    }
}
"""

PATTERNS = [
    ".*",
    "orders",
    r"audit\..*",
    *DEFAULT_TOPIC_EXCLUDES,
    "^orders$",
    "^orders",
    "orders$",
    "orders-v[0-9]+",
    r"[\w.-]+",
    r"\d+",
    r"\D+",
    r"\w+",
    r"\W",
    r"\s",
    r"\S+",
    r"[\d\s]+",
    r"[^\S]",
    r"[^\d]+",
    "a{3}",
    "a{2}a*",
    "a{2}(?:a?){1}",
    "a{2}(?:a?){3}?",
    "a{1}?",
    "a*?b+?c??",
    "(?:orders|payments)(-dlq)?",
    "(orders|payments)+",
    "(?!internal).*",
    "(?!.*internal).*",
    "(?=a)[a-c]+",
    "[^a-z]",
    "[^a-z]+",
    "[-a]",
    "[a-z-]+",
    r"[\-\]\[\\]",
    r"\.\$\^\{\}\[\]\(\)\|\*\+\?\\",
    "a|",
    "()*",
    "(a|)+b",
    "a.b",
    ".",
    "..",
    "caf\u00e9",
    "my group",
    "[\u00e0-\u00ff]+",
    "x.*y",
    "A\\.[^.]+",
    "[.]",
    "[$^|(){}*+?]+",
    "console-consumer-.*",
]

LISTS = [
    list(DEFAULT_TOPIC_EXCLUDES),
    ["console-consumer-.*", "connect-.*", "__.*", "mm2-.*"],  # mm2.py's groups.exclude
    ["orders", "payments", r"audit\..*"],
    ["^a$", "b"],
    ["(?!x).*", "x1"],
]

NAMES = [
    "",
    "a",
    "b",
    "aa",
    "aaa",
    "aaaaa",
    "abc",
    "ac",
    "x1",
    "xy",
    "x\ny",
    "orders",
    "orders\n",
    "orders\r\n",
    "orders\r",
    "xorders",
    "orders-v2",
    "orders-dlq",
    "ordersorders",
    "paymentsorders-dlq",
    "payments",
    "audit.events",
    "audit.",
    "audit",
    "A.orders",
    "A.b.c",
    "B.heartbeats",
    "heartbeats",
    "__consumer_offsets",
    "_schemas",
    "mm2-offset-syncs.B.internal",
    "connect-offsets",
    "console-consumer-123",
    "something.internal",
    "internal",
    "internal-x",
    "x-internal",
    "42",
    "\u0664\u0662",  # Arabic-Indic digits
    "\U0001d7d8",  # a mathematical digit outside the BMP
    "caf\u00e9",
    "CAF\u00c9",
    "\u00e9",
    "my group",
    "a b",
    " ",
    "\t",
    "\x0b",
    "\x0c",
    "\x1c",
    "\u00a0",
    "\u2003",
    "\n",
    "\r",
    "\u0085",
    "\u2028",
    "\u2029",
    "a\nb",
    "a\rb",
    "a\u0085b",
    "a\u2028b",
    "a\tb",
    "-",
    "[",
    "]",
    "\\",
    ".",
    "$^|",
    "{}()",
    ".$^{}[]()|*+?\\",
    "_",
    "x-y_z.w",
    "ab",
    "aab",
    "bc",
]


def test_every_accepted_pattern_selects_in_python_what_java_selects(toolchain: None, tmp_path: Path) -> None:
    java = shutil.which("java")
    assert java is not None, "java is not on PATH (the toolchain needs it)"
    for pattern in PATTERNS:
        check_pattern(pattern, "table")
    lists = [[p] for p in PATTERNS] + LISTS
    cases = [(patterns, name) for patterns in lists for name in NAMES]

    source = tmp_path / "PatternCheck.java"
    source.write_text(JAVA_SOURCE, encoding="utf-8")
    table = "".join(
        ",".join(p.encode().hex() for p in patterns) + " " + name.encode().hex() + "\n" for patterns, name in cases
    )
    result = subprocess.run(
        [java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", str(source)],
        input=table,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answers = result.stdout.splitlines()
    assert len(answers) == len(cases), result.stdout[-2000:] + result.stderr

    disagreements = []
    for (patterns, name), answer in zip(cases, answers, strict=True):
        python = any_full_match(patterns, name)
        if answer.startswith("E") or (answer == "1") != python:
            disagreements.append(f"{patterns!r} on {name!r}: java {answer}, python {int(python)}")
    assert disagreements == [], f"{len(disagreements)} of {len(cases)} disagree:\n" + "\n".join(disagreements[:40])
