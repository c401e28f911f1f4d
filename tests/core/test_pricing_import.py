"""Prices come from genai-prices' bundled snapshot without importing its network updater (httpx, asyncio):
a cold start does not pay for code ctxtop never runs, and the package stays whole for anyone else."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from ctxtop.core import pricing
from ctxtop.core.usage import Tokens

tokens = Tokens(1000, 200, 5000, 300, 40)
bare = pricing.PriceBook().cost("claude-sonnet-4-5", 1760000000.0, tokens)
assert bare is not None and bare.total > 0
assert "genai_prices.update_prices" not in sys.modules and "httpx2" not in sys.modules, "updater imported"
assert pricing.context_window_listed("claude-sonnet-4-5")

# The rest of the package loads on first use, and prices the same from the same snapshot.
from genai_prices import UpdatePrices, __version__, calc_price  # noqa: F401
assert "genai_prices.update_prices" in sys.modules
pricing._model_info.cache_clear()
whole = pricing.PriceBook().cost("claude-sonnet-4-5", 1760000000.0, tokens)
assert whole == bare, (whole, bare)
import genai_prices
assert genai_prices.data_snapshot.get_snapshot() is pricing.bundled_snapshot()
print(bare.total)
"""


def test_prices_load_without_the_network_updater_and_the_package_stays_whole() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip()


def test_a_process_that_imported_genai_prices_first_is_left_alone() -> None:
    script = (
        "import genai_prices, sys\nfrom ctxtop.core import pricing\n"
        "assert pricing.bundled_snapshot() is genai_prices.data_snapshot.get_snapshot()\n"
        "assert sys.modules['genai_prices'] is genai_prices\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
