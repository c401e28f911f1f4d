"""Filter rules as data: parsing the TOML rule format and picking the rules that apply to a command.

A rule file holds one or more ``[[rule]]`` tables::

    [[rule]]
    name = "pytest"                       # unique; a user rule with a built-in's name replaces it
    description = "drop passing tests"
    commands = ['^pytest\\b']             # regexes searched in each simple command of the command line
    outputs = ['^=+ test session starts'] # regexes searched in the output's first/last lines
    mode = "filter"                       # or "passthrough": leave the output alone (cat, git diff)
    drop = ['^\\S+::\\S+ PASSED']          # lines removed (never a line that looks important)
    keep = ['^collected \\d+ items']       # lines always kept, like important ones
    max_lines = 300                       # head/tail elision above this many lines...
    head = 80                             # ...keeping this many first lines
    tail = 80                             # ...and last lines
    context = 2                           # lines kept around each important line in elided parts

    [[rule.fold]]                         # runs of matching lines folded to head + count + tail
    pattern = '^\\s*Collecting '
    key = 1                               # optional group: a run continues only while it is equal
    head = 1
    tail = 1
    min = 4                               # shortest run worth folding

    [[rule.test]]                         # examples checked by the test suite (and by users' CI)
    command = "pytest -v"
    input = '''...'''
    kept = ["FAILED t.py::test_b"]        # substrings that must survive
    removed = ["t.py::test_a PASSED"]     # substrings that must not

Simple commands are the pieces of the command line between ``;``, ``&&``, ``||``, ``|``, parentheses and
newlines, with leading ``VAR=value`` assignments, wrappers (sudo, time, env, uv run, npx...) and directory
prefixes of the program removed, so ``cd x && FOO=1 .venv/bin/python -m pytest -q`` yields ``pytest -q``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any


class RuleError(ValueError):
    """A rule file that cannot be used; the message names the file and the rule."""


@dataclass(frozen=True, slots=True)
class Fold:
    pattern: re.Pattern[str]
    key: int | None = None
    head: int = 1
    tail: int = 1
    min: int = 4


@dataclass(frozen=True, slots=True)
class RuleTest:
    command: str
    input: str
    kept: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    source: str
    description: str = ""
    commands: tuple[re.Pattern[str], ...] = ()
    outputs: tuple[re.Pattern[str], ...] = ()
    passthrough: bool = False
    drop: tuple[re.Pattern[str], ...] = ()
    keep: tuple[re.Pattern[str], ...] = ()
    folds: tuple[Fold, ...] = ()
    max_lines: int | None = None
    head: int | None = None
    tail: int | None = None
    context: int | None = None
    tests: tuple[RuleTest, ...] = field(default=(), compare=False)


def _regexes(value: Any, where: str) -> tuple[re.Pattern[str], ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{where}: expected a list of regex strings")
    try:
        return tuple(re.compile(v) for v in value)
    except re.error as exc:
        raise RuleError(f"{where}: bad regex: {exc}") from exc


def _int(value: Any, where: str, default: int | None = None) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RuleError(f"{where}: expected a non-negative integer")
    return value


def _fold(raw: Any, where: str) -> Fold:
    if isinstance(raw, str):
        raw = {"pattern": raw}
    if not isinstance(raw, dict) or "pattern" not in raw:
        raise RuleError(f"{where}: a fold needs a pattern")
    (pattern,) = _regexes(raw["pattern"], where)
    key = _int(raw.get("key"), f"{where}.key")
    if key is not None and key > pattern.groups:
        raise RuleError(f"{where}.key: the pattern has no group {key}")
    return Fold(
        pattern=pattern,
        key=key,
        head=_int(raw.get("head"), f"{where}.head", 1) or 0,
        tail=_int(raw.get("tail"), f"{where}.tail", 1) or 0,
        min=max(2, _int(raw.get("min"), f"{where}.min", 4) or 0),
    )


def _tests(raw: Any, where: str) -> tuple[RuleTest, ...]:
    out = []
    for i, t in enumerate(raw or []):
        if not isinstance(t, dict) or not isinstance(t.get("input"), str):
            raise RuleError(f"{where}[{i}]: a test needs an input string")
        out.append(
            RuleTest(
                command=str(t.get("command", "")),
                input=t["input"],
                kept=tuple(str(s) for s in t.get("kept", [])),
                removed=tuple(str(s) for s in t.get("removed", [])),
            )
        )
    return tuple(out)


def parse_rules(text: str, source: str) -> list[Rule]:
    """Parse one TOML rule file; raises :class:`RuleError` naming ``source`` on any problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source}: {exc}") from exc
    rules = []
    for i, raw in enumerate(data.get("rule", [])):
        where = f"{source}: rule[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise RuleError(f"{where}: a rule needs a name")
        where = f"{source}: rule {raw['name']!r}"
        mode = raw.get("mode", "filter")
        if mode not in ("filter", "passthrough"):
            raise RuleError(f"{where}: mode must be 'filter' or 'passthrough'")
        unknown = set(raw) - {
            "name", "description", "commands", "outputs", "mode", "drop", "keep", "fold",
            "max_lines", "head", "tail", "context", "test",
        }  # fmt: skip
        if unknown:
            raise RuleError(f"{where}: unknown keys {sorted(unknown)}")
        rules.append(
            Rule(
                name=raw["name"],
                source=source,
                description=str(raw.get("description", "")),
                commands=_regexes(raw.get("commands"), f"{where}.commands"),
                outputs=_regexes(raw.get("outputs"), f"{where}.outputs"),
                passthrough=mode == "passthrough",
                drop=_regexes(raw.get("drop"), f"{where}.drop"),
                keep=_regexes(raw.get("keep"), f"{where}.keep"),
                folds=tuple(_fold(f, f"{where}.fold[{j}]") for j, f in enumerate(raw.get("fold", []))),
                max_lines=_int(raw.get("max_lines"), f"{where}.max_lines"),
                head=_int(raw.get("head"), f"{where}.head"),
                tail=_int(raw.get("tail"), f"{where}.tail"),
                context=_int(raw.get("context"), f"{where}.context"),
                tests=_tests(raw.get("test"), f"{where}.test"),
            )
        )
    return rules


_SPLIT = re.compile(r"\|\||&&|[;|&()\n`{}]|\$\(")
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*\s+")
_WRAPPERS = re.compile(
    r"^(?:sudo(?:\s+-\S+)*|time|env(?:\s+-\S+)*|nice(?:\s+-n\s*\d+)?|nohup|command|exec|builtin|stdbuf(?:\s+-\S+)*"
    r"|timeout(?:\s+-\S+)*\s+\S+|xargs(?:\s+-\S+)*|uv\s+run(?:\s+--?\S+)*|poetry\s+run|pipenv\s+run|pdm\s+run"
    r"|hatch\s+run|rye\s+run|npx|bunx|pnpm\s+exec|pnpm\s+dlx|yarn\s+dlx|python[\d.]*\s+-m)\s+"
)
_PROGRAM_DIR = re.compile(r"^(?:\S*/)(?=\S)")


def simple_commands(command: str) -> list[str]:
    """The normalised simple commands of a shell command line (see the module docstring)."""
    out = []
    for piece in _SPLIT.split(command or ""):
        seg = piece.strip()
        for _ in range(8):
            before = seg
            seg = _ASSIGN.sub("", seg)
            seg = _WRAPPERS.sub("", seg)
            seg = _PROGRAM_DIR.sub("", seg, count=1) if not seg.startswith("-") else seg
            if seg == before:
                break
        if seg:
            out.append(seg)
    return out


@dataclass(frozen=True, slots=True)
class RuleSet:
    """All rules in effect: built-ins first, then the user's (a same-named user rule replaces a built-in)."""

    rules: tuple[Rule, ...] = ()

    @classmethod
    def merge(cls, *groups: list[Rule]) -> RuleSet:
        by_name: dict[str, Rule] = {}
        for group in groups:
            for rule in group:
                by_name.pop(rule.name, None)
                by_name[rule.name] = rule
        return cls(tuple(by_name.values()))

    def select(self, command: str | None, lines: list[str]) -> tuple[list[Rule], bool]:
        """The filtering rules for ``command``/``lines``, and whether the output must pass through untouched.

        Passthrough wins only when no filtering rule matched: ``cat log | pytest`` is not a ``cat``.
        """
        segments = simple_commands(command or "")
        probe = lines[:60] + lines[-30:] if len(lines) > 90 else lines
        chosen: list[Rule] = []
        passthrough = False
        for rule in self.rules:
            hit = any(p.search(seg) for p in rule.commands for seg in segments)
            if not hit and rule.outputs:
                hit = any(p.search(line[:500]) for p in rule.outputs for line in probe)
            if hit:
                if rule.passthrough:
                    passthrough = True
                else:
                    chosen.append(rule)
        return chosen, passthrough and not chosen
