"""Write ``src/ctxtop/core/price_table.json`` from the installed genai-prices (run after changing its pin).

The table is what ``core.pricing`` reads of genai-prices' bundled snapshot (the providers ctxtop prices), so a
cold start need not import pydantic to load the snapshot. It is used only while the installed genai-prices'
data and code hash to the ``sha256`` it records; ``tests/core/test_price_table.py`` fails when it is stale.

Usage: python scripts/price_table.py
"""

from __future__ import annotations

import json

from ctxtop.core import pricing


def render() -> str:
    """The table as committed: one model per line, so a new genai-prices shows as a readable diff."""
    table = pricing.build_table()
    lines = [
        "{",
        f'"genai_prices": {json.dumps(table["genai_prices"])},',
        f'"sha256": {json.dumps(table["sha256"])},',
    ]
    lines.append('"providers": [')
    for i, provider in enumerate(table["providers"]):
        lines.append(f'{{"id": {json.dumps(provider["id"])}, "models": [')
        models = provider["models"]
        lines += [
            json.dumps(m, separators=(",", ":")) + ("," if j < len(models) - 1 else "")
            for j, m in enumerate(models)
        ]
        lines.append("]}" + ("," if i < len(table["providers"]) - 1 else ""))
    lines += ["]", "}"]
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == json.loads(json.dumps(table)), "rendering changed the table"
    return text


def main() -> int:
    pricing.TABLE.write_text(render(), encoding="utf-8")
    print(f"wrote {pricing.TABLE} (genai-prices {json.loads(pricing.TABLE.read_text())['genai_prices']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
