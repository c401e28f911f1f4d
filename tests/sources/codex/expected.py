"""What the Codex fixtures hold, worked out by hand from the events in ``tests/support/make_codex_fixtures.py``.

Tokens are ctxtop's (Anthropic-shaped): ``input`` is OpenAI's input less its cached part, ``cache_read`` the
cached part. Costs are genai-prices' rates (USD per million): gpt-5 and gpt-5.1 (which price gpt-5-codex and
gpt-5.1-codex) 1.25 input / 0.125 cached / 10 output; gpt-5.2 1.75 / 0.175 / 14; gpt-5-mini 0.25 / 0.025 / 2.
ccusage 20.0.20 (``ccusage codex session``) gives the same tokens and costs (see ``test_codex_ccusage``).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

CODEX_HOME = Path(__file__).resolve().parents[2] / "fixtures" / "codex"

A = "01990a1c-2f3e-7a10-9b55-3c2d1e0f4a01"
B = "01990a1c-2f3e-7a10-9b55-3c2d1e0f4a02"
C = "01990a1c-2f3e-7a10-9b55-3c2d1e0f4a03"
D = "01990a1c-2f3e-7a10-9b55-3c2d1e0f4a04"
E = "01990a1c-2f3e-7a10-9b55-3c2d1e0f4a05"

FILES = {
    A: "sessions/2026/11/20/rollout-2026-11-20T09-15-02-" + A + ".jsonl",
    B: "sessions/2026/11/21/rollout-2026-11-21T16-40-00-" + B + ".jsonl",
    C: "sessions/2026/11/23/rollout-2026-11-23T10-00-00-" + C + ".jsonl",
    D: "sessions/2026/11/24/rollout-2026-11-24T11-00-00-" + D + ".jsonl",
    E: "sessions/2026/11/25/rollout-2026-11-25T13-00-00-" + E + ".jsonl",
}

# session -> (requests, input, output, cache_read, reasoning); cache writes are always 0 for OpenAI.
# A: 3 responses (8200/0/310, 9400/8064/420, 10100/9344/150); 4 re-emitted or copied events add nothing.
# B: 2 responses on 2026-11-21 with gpt-5-codex, 1 after the resume on 2026-11-22 with gpt-5.1-codex.
# C: B's first day replayed (counted with B), then 1 response of its own (14500/13000/800).
# D: 1 response; the last line (a second one) is half written.
# E: 2 responses with gpt-5.2-codex around a compaction, then 1 with a model genai-prices does not know.
TOKENS = {
    A: (3, 10292, 880, 17408, 512),
    B: (3, 14296, 1800, 24704, 1020),
    C: (1, 1500, 800, 13000, 500),
    D: (1, 6000, 200, 0, 128),
    E: (3, 205564, 3300, 23936, 1536),
}

COST = {
    A: Decimal("0.023841"),  # 10292*1.25 + 17408*0.125 + 880*10, per million
    B: Decimal("0.038958"),  # gpt-5-codex 0.029002 + gpt-5.1-codex 0.009956
    C: Decimal("0.0115"),
    D: Decimal("0.0019"),
    E: Decimal("0.3976"),  # gpt-5.2-codex only: the gpt-oss-local request is unpriced
}

UNPRICED_E = (1564, 400, 23936)  # input, output, cache_read of the gpt-oss-local request

# The latest request's prompt (OpenAI input_tokens) and the window its token_count recorded.
CONTEXT = {A: (10100, 258400), B: (14000, 258400), C: (14500, 258400), D: (6000, 258400), E: (25500, 272000)}

MODELS = {
    A: ["gpt-5-codex"],
    B: ["gpt-5-codex", "gpt-5.1-codex"],
    C: ["gpt-5-codex"],
    D: ["gpt-5-mini"],
    E: ["gpt-5.2-codex", "gpt-oss-local"],
}

# The half-written last line of D, once complete: 6800 input of which 5888 cached, 300 output (128 reasoning).
D_COMPLETED = (2, 6000 + 912, 500, 5888, 256)
