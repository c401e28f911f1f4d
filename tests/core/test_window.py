"""The window Claude Code runs a session with, as measured on 2.1.197 and 2.1.332 (see ctxtop.core.window)."""

from __future__ import annotations

import pytest

from ctxtop.core.compaction import effective_compaction
from ctxtop.core.window import Observed, facts_for, names_model, resolve_window

M = 1_000_000
K200 = 200_000


@pytest.mark.parametrize(
    ("model", "version", "env", "settings", "window", "source"),
    [
        # 2.1.197's default model is written as claude-opus-4-8 and runs with 1M.
        ("claude-opus-4-8", "2.1.197", {}, [], M, "Claude Code 2.1.197 default model claude-opus-4-8"),
        # ... but chosen explicitly it runs with 200K.
        (
            "claude-opus-4-8",
            "2.1.197",
            {},
            [{"model": "claude-opus-4-8"}],
            K200,
            "model setting claude-opus-4-8",
        ),
        (
            "claude-opus-4-8",
            "2.1.197",
            {"ANTHROPIC_MODEL": "opus[1m]"},
            [],
            M,
            "env ANTHROPIC_MODEL=opus[1m]",
        ),
        ("claude-sonnet-5", "2.1.197", {}, [{"model": "sonnet[1m]"}], M, "model setting sonnet[1m]"),
        ("claude-sonnet-4-5", "2.1.197", {}, [], K200, "Claude Code default 200000"),
        ("claude-sonnet-4-5[1m]", "2.1.197", {}, [], M, "[1m] in the model id"),
        # 2.1.332: opus 4.8 and 5.5 run with 1M however chosen; sonnet 4.5 with 200K.
        ("claude-opus-5-5", "2.1.332", {}, [], M, "Claude Code 2.1.332 default model claude-opus-5-5"),
        ("claude-opus-4-8", "2.1.332", {}, [], M, "Claude Code 2.1.332 runs claude-opus-4-8 with 1M"),
        ("claude-sonnet-4-5", "2.1.332", {}, [], K200, "Claude Code default 200000"),
        # Versions older than every verified one get no default-model inference.
        ("claude-opus-4-8", "2.1.123", {}, [], K200, "Claude Code default 200000"),
    ],
)
def test_inferred_windows_match_the_measurements(model, version, env, settings, window, source) -> None:
    assert resolve_window(model, version, env, settings) == (window, source, False)


def test_what_claude_code_reported_wins_then_the_config_override() -> None:
    seen = Observed(K200, "claude-opus-4-8", 1.0, 28)
    assert resolve_window("claude-opus-4-8", "2.1.197", {}, [], observed=seen, override=M)[:2] == (
        K200, "reported by Claude Code (statusline)")  # fmt: skip
    # An observation of another model (the user switched with /model) does not apply.
    other = Observed(M, "claude-sonnet-5[1m]")
    assert resolve_window("claude-opus-4-8", "2.1.197", {}, [], observed=other, override=300_000)[:2] == (
        300_000, "ctxtop config [windows]")  # fmt: skip


def test_a_larger_prompt_proves_a_larger_window() -> None:
    window, source, proven = resolve_window(
        "claude-sonnet-4-5", "2.1.197", {}, [], max_prompt=450_000, listed=M
    )
    assert (window, proven) == (M, True) and "450,000" in source


def test_unverified_versions_use_the_nearest_older_facts() -> None:
    facts, verified = facts_for("2.1.400")
    assert facts is not None and facts.version == "2.1.332" and not verified
    assert facts_for("2.1.197") == (facts_for("2.1.197")[0], True)
    assert facts_for("garbage") == (None, False)


def test_alias_matching() -> None:
    assert names_model("opus[1m]", "claude-opus-4-8") and names_model("sonnet", "claude-sonnet-5")
    assert not names_model("sonnet", "claude-opus-4-8") and names_model("claude-opus-4-8", "claude-opus-4-8")


def test_the_compaction_window_moves_the_point_not_the_fill_window() -> None:
    # CLAUDE_CODE_AUTO_COMPACT_WINDOW=200000 on the 1M model: Claude Code's used_percentage stays against 1M.
    info = effective_compaction(
        {"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "200000"}, [], "claude-opus-4-8", M, window_source="measured"
    )
    assert (info.context_window, info.window, info.compact_at) == (M, K200, 167_000)


def test_which_versions_read_model_settings() -> None:
    from ctxtop.core.window import reads_model_settings

    assert reads_model_settings("2.1.332") and reads_model_settings("2.1.400")
    assert not reads_model_settings("2.1.197") and not reads_model_settings("2.1.250")
    assert not reads_model_settings("2.0.76")
    assert reads_model_settings(None)  # unknown: today's Claude Code
