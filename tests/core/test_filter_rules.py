"""Rule files: the format, command matching, and every bundled rule's own examples."""

from __future__ import annotations

import pytest

from ctxtop.adapters.filter_rules import builtin_rules
from ctxtop.core.filters import RuleError, RuleSet, parse_rules, preview, simple_commands

BUILTIN = RuleSet.merge(list(builtin_rules()))
CASES = [(rule.name, i, t) for rule in BUILTIN.rules for i, t in enumerate(rule.tests)]


def test_every_builtin_rule_has_a_test() -> None:
    assert {r.name for r in BUILTIN.rules} == {name for name, _, _ in CASES}


@pytest.mark.parametrize(("name", "index", "case"), CASES, ids=[f"{n}-{i}" for n, i, _ in CASES])
def test_builtin_rule_examples(name: str, index: int, case) -> None:  # type: ignore[no-untyped-def]
    out = preview(case.input, case.command, BUILTIN)
    for s in case.kept:
        assert s in out, f"{name}: {s!r} was removed:\n{out}"
    for s in case.removed:
        assert s not in out, f"{name}: {s!r} was kept:\n{out}"


@pytest.mark.parametrize(
    ("command", "segments"),
    [
        ("pytest -q", ["pytest -q"]),
        ("cd x && FOO=1 .venv/bin/python -m pytest -q", ["cd x", "pytest -q"]),
        ("uv run --frozen pytest tests 2>&1 | tail -50", ["pytest tests 2>", "1", "tail -50"]),
        ("sudo -E apt-get install -y curl", ["apt-get install -y curl"]),
        ("(cd web; npx jest --ci)", ["cd web", "jest --ci"]),
        ("timeout 60 ./node_modules/.bin/vitest run", ["vitest run"]),
    ],
)
def test_simple_commands(command: str, segments: list[str]) -> None:
    assert simple_commands(command) == segments


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("python3 -m pytest -x tests/", "pytest"),
        ("cd app && npm ci", "npm"),
        ("pip install -e '.[test]'", "pip"),
        ("gcc -Wall -o a a.c", "c-build"),
        ("ls -laR /usr/share", "ls-recursive"),
        ("cargo test --workspace", "cargo-test"),
        ("go test ./...", "go-test"),
    ],
)
def test_commands_select_rules(command: str, rule: str) -> None:
    chosen, passthrough = BUILTIN.select(command, [])
    assert rule in [r.name for r in chosen] and not passthrough


def test_output_selects_rule_when_command_does_not() -> None:
    chosen, _ = BUILTIN.select("make check", ["============ test session starts ============", "x"])
    assert "pytest" in [r.name for r in chosen]


def test_user_rule_replaces_builtin_of_same_name() -> None:
    mine = parse_rules("[[rule]]\nname = 'pytest'\ncommands = ['^mytest']\n", "user.toml")
    merged = RuleSet.merge(list(builtin_rules()), mine)
    (rule,) = [r for r in merged.rules if r.name == "pytest"]
    assert rule.source == "user.toml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rule]]\ndescription = 'x'\n", "needs a name"),
        ("[[rule]]\nname = 'x'\ndrop = ['(']\n", "bad regex"),
        ("[[rule]]\nname = 'x'\nmode = 'maybe'\n", "mode must be"),
        ("[[rule]]\nname = 'x'\ndorp = ['a']\n", "unknown keys"),
        ("[[rule]]\nname = 'x'\nfold = [{pattern = 'a', key = 2}]\n", "no group 2"),
        ("[[rule]\n", "f.toml"),
    ],
)
def test_rule_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rules(text, "f.toml")


def test_core_filters_import_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ctxtop.core.filters, ctxtop.core.filters.tokens\n"
        "print([m for m in ('textual', 'watchdog', 'anthropic', 'platformdirs', 'tiktoken', 'ctxtop.adapters')"
        " if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
