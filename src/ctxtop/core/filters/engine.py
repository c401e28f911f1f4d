"""The filter pipeline: clean up, drop and fold by rule, fold repeats, elide the middle, never hide an error.

Order matters: ANSI and ``\\r`` clean-up first (so rules see what a terminal shows), then rule drops and folds,
then generic repeat folding, then head/tail elision as a last resort. Every stage keeps a line that looks
important (see :func:`ctxtop.core.filters.generic.is_important`) or matches a rule's ``keep``; elision also
keeps ``context`` lines before each of them and the rest of its paragraph after it.

A *failing* output (non-zero exit code, or any line that says something failed) is never elided by default:
it loses only what is positively recognised as noise (a rule's drops and folds, repeated identical lines,
and runs of similar lines that are all progress/download/passing-test chatter). A pattern we lack can then
cost tokens, never a line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ctxtop.core.filters.generic import (
    MATCH_PREFIX,
    collapse_cr,
    is_failure,
    is_important,
    is_noise,
    shape,
    strip_ansi,
)
from ctxtop.core.filters.ruleset import Fold, Rule, RuleSet

MARK = "[ctxtop: "  # every line the filter adds starts with this


@dataclass(frozen=True, slots=True)
class Settings:
    """Generic limits; a matched rule may override max_lines/head/tail/context."""

    min_chars: int = 1200  # smaller outputs pass unchanged
    max_lines: int = 300
    head: int = 100
    tail: int = 100
    context: int = 2
    paragraph: int = 10  # lines kept after an important line in elided parts, up to a blank line
    repeat_min: int = 3  # identical consecutive lines folded from this many
    similar_min: int = 8  # lines equal up to their numbers folded from this many (first 2 + last 2 kept)
    strict: bool = False  # use these limits even where a matched rule sets larger ones


# Claude Code keeps ~10,000 characters of a failing command's output, cut in the middle. A failing output
# longer than this is kept whole but ends with the pointer line, so the model can read what Claude Code cuts.
FAILURE_BUDGET_CHARS = 9_000


@dataclass(frozen=True, slots=True)
class FilterResult:
    text: str
    changed: bool  # text differs from the input
    lossy: bool  # lines were removed or folded: save the raw output and add the pointer line
    raw_lines: int = 0
    kept_lines: int = 0
    rules: tuple[str, ...] = field(default=())


@dataclass(slots=True)
class _Line:
    text: str
    keep: bool = False  # important or rule keep
    marker: bool = False  # a line the filter added


def _marker(text: str) -> _Line:
    return _Line(f"{MARK}{text}]", keep=False, marker=True)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def pointer_line(
    raw_lines: int, kept_lines: int, raw_path: str | None, raw_cut: tuple[int, int, int] | None = None
) -> str:
    """The single last line of filtered output: what was removed and where the raw output is.

    ``raw_cut`` is ``(start, end, size)`` when the saved file lacks bytes ``start..end-1`` of ``size``.
    """
    where = f"full output: {raw_path}" if raw_path else "full output not saved"
    if raw_path and raw_cut is not None:
        start, end, size = raw_cut
        where += f"; bytes {start}-{end - 1} of {size} are not in it (too large to keep)"
    return f"{MARK}filtered {raw_lines - kept_lines} of {_plural(raw_lines, 'line')}; {where}]"


def _drop(lines: list[_Line], rules: list[Rule]) -> list[_Line]:
    drops = [p for r in rules for p in r.drop]
    if not drops:
        return lines
    out: list[_Line] = []
    run = 0
    for line in lines:
        if not line.keep and not line.marker and any(p.search(line.text[:MATCH_PREFIX]) for p in drops):
            run += 1
            continue
        if run >= 3:
            out.append(_marker(f"{run} lines dropped"))
        run = 0
        out.append(line)
    if run >= 3:
        out.append(_marker(f"{run} lines dropped"))
    return out


def _fold_key(fold: Fold, line: _Line) -> str | None:
    if line.keep or line.marker:
        return None
    m = fold.pattern.search(line.text[:MATCH_PREFIX])
    if m is None:
        return None
    return m.group(fold.key) or "" if fold.key is not None else ""


def _fold_runs(lines: list[_Line], folds: list[Fold]) -> list[_Line]:
    for fold in folds:
        out: list[_Line] = []
        i = 0
        while i < len(lines):
            key = _fold_key(fold, lines[i])
            if key is None:
                out.append(lines[i])
                i += 1
                continue
            j = i + 1
            while j < len(lines) and _fold_key(fold, lines[j]) == key:
                j += 1
            run = lines[i:j]
            hidden = len(run) - fold.head - fold.tail
            if len(run) >= fold.min and hidden >= 2:
                out.extend(run[: fold.head])
                out.append(_marker(f"{hidden} more similar lines"))
                out.extend(run[len(run) - fold.tail :] if fold.tail else [])
            else:
                out.extend(run)
            i = j
        lines = out
    return lines


def _fold_repeats(lines: list[_Line], s: Settings, failing: bool) -> list[_Line]:
    out: list[_Line] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.marker:
            out.append(line)
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].marker and lines[j].text == line.text:
            j += 1
        if j - i >= s.repeat_min:
            out.append(line)
            out.append(_marker(f"previous line repeated {j - i - 1} more times"))
            i = j
            continue
        # Near-identical runs (progress counters) lose their middle; important lines never do, and in a
        # failing output only lines recognised as noise do.
        if not line.keep and not (failing and not is_noise(line.text)):
            sh = shape(line.text)
            j = i + 1
            while (
                j < len(lines)
                and not lines[j].marker
                and not lines[j].keep
                and shape(lines[j].text) == sh
                and not (failing and not is_noise(lines[j].text))
            ):
                j += 1
            if j - i >= s.similar_min and sh != line.text:
                out.extend(lines[i : i + 2])
                out.append(_marker(f"{j - i - 4} similar lines"))
                out.extend(lines[j - 2 : j])
                i = j
                continue
        out.append(line)
        i += 1
    return out


def _elide(
    lines: list[_Line], max_lines: int, head: int, tail: int, context: int, paragraph: int
) -> list[_Line]:
    n = len(lines)
    if n <= max_lines or n <= head + tail:
        return lines
    wanted = [False] * n
    for k in range(min(head, n)):
        wanted[k] = True
    for k in range(max(0, n - tail), n):
        wanted[k] = True
    for k, line in enumerate(lines):
        if line.keep:
            for c in range(max(0, k - context), min(n, k + context + 1)):
                wanted[c] = True
            # The detail under an error (frames, diffs, source lines) runs to the end of its paragraph.
            for c in range(k + 1, min(n, k + 1 + max(paragraph, context))):
                if not lines[c].text.strip() and c > k + context:
                    break
                wanted[c] = True
    out: list[_Line] = []
    k = 0
    while k < n:
        if wanted[k]:
            out.append(lines[k])
            k += 1
            continue
        j = k
        while j < n and not wanted[j]:
            j += 1
        if j - k >= 2:
            hidden = sum(1 for line in lines[k:j] if not line.marker)
            out.append(_marker(f"{hidden} lines elided"))
        else:
            out.extend(lines[k:j])
        k = j
    return out


@dataclass(frozen=True, slots=True)
class _Outcome:
    body: str
    lossy: bool
    raw_lines: int
    kept_lines: int
    rules: tuple[str, ...]
    long_failure: bool = False  # the pointer line may make the text longer than the raw output


def _run(
    raw: str, command: str | None, rules: RuleSet, settings: Settings, exit_code: int | None = None
) -> _Outcome | None:
    """The filtered body (no pointer line, no length guard), or None when the output must pass through."""
    no_ansi = strip_ansi(raw)
    text = collapse_cr(no_ansi)
    trailing_newline = text.endswith("\n")
    raw_lines_text = text[:-1].split("\n") if trailing_newline else text.split("\n")
    chosen, passthrough = rules.select(command, raw_lines_text)
    if passthrough:
        return None
    keeps = [p for r in chosen for p in r.keep]
    lines = [
        _Line(t, keep=is_important(t) or any(p.search(t[:MATCH_PREFIX]) for p in keeps))
        for t in raw_lines_text
    ]
    failing = exit_code not in (None, 0) or any(is_failure(t) for t in raw_lines_text)
    lines = _drop(lines, chosen)
    lines = _fold_runs(lines, [f for r in chosen for f in r.folds])
    lines = _fold_repeats(lines, settings, failing)

    def pick(attr: str) -> int:
        values = [] if settings.strict else [getattr(r, attr) for r in chosen if getattr(r, attr) is not None]
        return max(values) if values else getattr(settings, attr)

    if not failing:
        lines = _elide(
            lines, pick("max_lines"), pick("head"), pick("tail"), pick("context"), settings.paragraph
        )
    kept = sum(1 for line in lines if not line.marker)
    body = "\n".join(line.text for line in lines)
    cr_collapsed = text != no_ansi.replace("\r\n", "\n")
    lossy = kept < len(raw_lines_text) or cr_collapsed
    # Claude Code would cut a long failing output in the middle: end it with the pointer to the raw file.
    long_failure = exit_code not in (None, 0) and len(body) > FAILURE_BUDGET_CHARS
    lossy = lossy or long_failure
    # Line counts are of the input as received, so "filtered N of M" matches `wc -l` of the raw file.
    n_raw = raw.count("\n") + (0 if raw.endswith("\n") else 1)
    if not lossy:
        body += "\n" if trailing_newline else ""
    return _Outcome(body, lossy, n_raw, min(kept, n_raw), tuple(r.name for r in chosen), long_failure)


def preview(
    raw: str,
    command: str | None,
    rules: RuleSet,
    settings: Settings = Settings(),
    exit_code: int | None = None,
) -> str:
    """What the rules make of ``raw``, without the size threshold, pointer line or length guard (rule tests)."""
    outcome = _run(raw, command, rules, settings, exit_code)
    return raw if outcome is None else outcome.body


def filter_text(
    raw: str,
    command: str | None,
    rules: RuleSet,
    settings: Settings = Settings(),
    raw_path: str | None = None,
    exit_code: int | None = None,
    raw_cut: tuple[int, int, int] | None = None,
) -> FilterResult:
    """Filter one command's output. Never raises on any input.

    When lines were removed, the text ends with one :func:`pointer_line` naming ``raw_path``. It is never
    longer than ``raw``, except that a failing output (``exit_code`` not 0) too long for Claude Code to keep
    whole always ends with the pointer line. ``exit_code`` None means unknown: the output's own lines decide
    whether it is failing. ``raw_cut`` says which bytes the saved raw file lacks (see :func:`pointer_line`).
    """
    unchanged = FilterResult(raw, changed=False, lossy=False)
    if len(raw) < settings.min_chars:
        return unchanged
    outcome = _run(raw, command, rules, settings, exit_code)
    if outcome is None:
        return unchanged
    out = outcome.body
    if outcome.lossy:
        out += "\n" + pointer_line(outcome.raw_lines, outcome.kept_lines, raw_path, raw_cut) + "\n"
    if len(out) >= len(raw) and not (outcome.long_failure and raw_path):
        # Not worth it: the pointer line or markers would cost more than they save.
        return unchanged
    return FilterResult(
        out,
        changed=True,
        lossy=outcome.lossy,
        raw_lines=outcome.raw_lines,
        kept_lines=outcome.kept_lines,
        rules=outcome.rules,
    )
