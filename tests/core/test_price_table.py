"""The committed price table answers exactly as genai-prices does, and only while it was built from the
installed genai-prices; a cold start then prices without importing pydantic."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ctxtop.core import pricing
from ctxtop.core.usage import Tokens

REPO = Path(__file__).resolve().parents[2]


def _table() -> dict:
    table = pricing._table()
    assert table is not None, (
        "price_table.json was not built from the installed genai-prices: run scripts/price_table.py"
    )
    return table


def _normal(resolved: object) -> object:
    return json.loads(json.dumps(resolved))  # tuples and lists alike, as the price cache stores them


def test_the_table_is_what_the_installed_genai_prices_gives() -> None:
    # Stale (a new genai-prices pinned without regenerating it): the table would be ignored, costing every cold
    # start the snapshot's load again. The committed text is the script's, so a regeneration diffs cleanly.
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import price_table
    finally:
        sys.path.remove(str(REPO / "scripts"))
    assert pricing.TABLE.read_text(encoding="utf-8") == price_table.render()
    assert json.loads(pricing.TABLE.read_text()) == _normal(pricing.build_table())
    assert _table()["sha256"] == pricing.genai_prices_digest()


def _days(info: dict) -> list[str]:
    """Every day where an answer may change (each start, the day before it), and far before and after."""
    starts = {s for s, _ in info["prices"] if s} | {s for _, s, _ in info["variants"] if s}
    days = {"2020-01-01", "2099-12-31"}
    for start in starts:
        days |= {start, (date.fromisoformat(start) - timedelta(days=1)).isoformat()}
    return sorted(days)


def _contexts(info: dict) -> list[tuple[tuple[str, str], ...]]:
    """No variant, the ones ctxtop asks for, each variant's own condition, and those combined."""
    asked: list[dict[str, str]] = [
        {},
        {"processing": "batch"},
        {"speed": "fast"},
        {"processing": "batch", "speed": "fast"},
    ]
    for when, _, _ in info["variants"]:
        asked += [dict(when), {"processing": "batch", **when}]
    return sorted({tuple(sorted(c.items())) for c in asked})


def test_every_model_day_and_variant_resolves_as_genai_prices_does() -> None:
    checked = 0
    snapshot = {p.id: p for p in pricing.bundled_snapshot().providers}
    for provider in _table()["providers"]:
        models = snapshot[provider["id"]].models
        assert [info["id"] for info in provider["models"]] == [m.id for m in models]  # and in genai's order
        for info, model in zip(provider["models"], models, strict=True):
            for day in _days(info):
                for context in _contexts(info):
                    ours = pricing._table_resolve(info, day, dict(context))
                    theirs = pricing._snapshot_resolve(model, day, context)
                    assert _normal(ours) == _normal(theirs), (info["id"], day, context)
                    checked += 1
    assert (
        checked > 500
    )  # every provider's models (140 in genai-prices 0.2.3), several days and variants each


def test_every_tier_prices_as_genai_prices_does(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rates either side of every tier start (the whole request at the tier a prompt exceeds), through PriceBook.
    cases = []
    for provider in _table()["providers"]:
        for info in provider["models"]:
            for day in _days(info):
                resolved = pricing._table_resolve(info, day, {})
                for start in pricing._tier_starts(resolved) or [0]:
                    for prompt in (start, start + 1):
                        cases.append((info["id"], day, prompt))
    assert any(prompt > 1 for _, _, prompt in cases), "no tiered model left to check"

    def rates(book: pricing.PriceBook, model: str, day: str, prompt: int) -> object:
        when = float(date.fromisoformat(day).toordinal() - date(1970, 1, 1).toordinal()) * 86400 + 43200
        return book.rates(model, when, prompt)

    table_book = pricing.PriceBook()
    ours = [rates(table_book, *case) for case in cases]
    monkeypatch.setattr(pricing, "_active_table", lambda: None)
    snapshot_book = pricing.PriceBook()
    assert [rates(snapshot_book, *case) for case in cases] == ours


def _candidates() -> set[str]:
    """Model ids as logs spell them: every id and clause text of the table, dated, suffixed, in capitals, with
    Claude Code's window marker, compact dates (valid and not), real transcripts' models, and unknown ones."""
    texts: set[str] = set()

    def walk(clause: list) -> None:
        kind, arg = clause
        if kind in ("or", "and"):
            for c in arg:
                walk(c)
        elif kind != "regex":
            texts.add(arg)

    for provider in _table()["providers"]:
        for info in provider["models"]:
            texts.add(info["id"])
            walk(info["match"])
    for root in (REPO / "tests" / "fixtures", REPO.parent / "shared" / "corpus"):
        for path in root.rglob("*.jsonl") if root.is_dir() else ():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if '"model"' in line:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    for model in (record.get("model"), (record.get("message") or {}).get("model")):
                        if isinstance(model, str):
                            texts.add(model)
    out = set()
    for text in texts:
        out |= {text, text.upper(), f"{text}-20251001", f"{text}-20251341", f"{text}-2025-10-01", f"{text}-latest",
                f"{text}[1m]", f"{text}x", text[:-1], f"us.{text}"}  # fmt: skip
    return out | {
        "",
        "claude",
        "gpt",
        "sonnet",
        "opus",
        "gpt-oss-local",
        "<synthetic>",
        "claude-sonnet-4-5-20250929",
    }


def test_model_ids_find_the_model_genai_prices_finds() -> None:
    table = _table()
    candidates = sorted(_candidates())
    assert len(candidates) > 2000
    for model in candidates:
        name = pricing.base_model(model).lower()  # as PriceBook asks
        ours = pricing._table_model(table, name)
        theirs = pricing._model_info(name)
        assert (ours and ours["id"]) == (theirs and theirs.id), model
        assert pricing.context_window_listed(model) == (theirs.context_window if theirs else None), model


def test_a_table_of_another_genai_prices_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A genai-prices other than the one the table was built from (upgraded, patched, a dev build): its own
    # snapshot answers, whatever the table says.
    stale = json.loads(pricing.TABLE.read_text())
    stale["sha256"] = "0" * 64
    for provider in stale["providers"]:
        for info in provider["models"]:
            for _, fields in info["prices"]:
                fields["input_mtok"] = ["999", []]
    path = tmp_path / "price_table.json"
    path.write_text(json.dumps(stale))
    monkeypatch.setattr(pricing, "TABLE", path)
    pricing._table.cache_clear()
    try:
        assert pricing._active_table() is None
        rates = pricing.PriceBook().rates("claude-opus-4-5-20251101", 1764000000.0, 1000)
        assert rates is not None and rates.input == Decimal(5)
    finally:
        pricing._table.cache_clear()


SCRIPT = """
import sys
from ctxtop.core import pricing
from ctxtop.core.usage import Tokens
book = pricing.PriceBook()
cost = book.cost("claude-sonnet-4-5-20250929", 1760000000.0, Tokens(1000, 200, 5000, 300, 40))
print(cost.total, book.listed_window("claude-opus-4-6[1m]"), book.rates("no-such-model", 1760000000.0))
print(sorted(m for m in ("pydantic", "genai_prices.types", "genai_prices.data") if m in sys.modules))
"""


def test_prices_need_no_pydantic_import() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    priced, imported = out.stdout.splitlines()
    expected = pricing.cost_at(
        pricing.PriceBook().rates("claude-sonnet-4-5-20250929", 1760000000.0, 6340)
        or pricing.Rates(*[Decimal(0)] * 5),
        Tokens(1000, 200, 5000, 300, 40),
    ).total
    assert priced.split() == [str(expected), "1000000", "None"]
    assert imported == "[]"
