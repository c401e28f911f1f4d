"""Claude Code's compaction point, and the override that moves it to ctxtop's threshold."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxtop.core import compaction as cmp


def claude_code_point(window: int, pct: str | None) -> int:
    """Claude Code 2.1.197's own arithmetic (eBn/Gre in cli.js), evaluated the way JavaScript does."""
    effective = window - 20_000
    default = effective - 13_000
    if pct is None:
        return default
    p = float(pct)
    return min(math.floor(effective * (p / 100)), default)


@pytest.mark.parametrize(
    ("window", "expected"),
    [(200_000, 167_000), (1_000_000, 967_000), (128_000, 95_000)],
)
def test_default_point_is_window_minus_33k(window: int, expected: int) -> None:
    assert cmp.default_compact_point(window) == expected
    assert cmp.compact_at_tokens(window) == expected


def test_override_can_only_lower_the_point() -> None:
    assert cmp.compact_at_tokens(200_000, 50) == 90_000
    assert cmp.compact_at_tokens(200_000, 100) == 167_000
    assert cmp.compact_at_tokens(None, 50) is None


@pytest.mark.parametrize(
    ("threshold", "window", "override", "point"),
    [
        (60, 200_000, "66.667", 120_000),  # 66.67 would compact at 120,006
        (50, 200_000, "55.556", 100_000),
        (75, 200_000, "83.3334", 150_000),
        (60, 1_000_000, "61.2245", 600_000),
        (10, 200_000, "11.1112", 20_000),
        (1, 100_000, "1.25", 1_000),
    ],
)
def test_override_for_threshold_lands_on_the_first_token_at_the_threshold(
    threshold: float, window: int, override: str, point: int
) -> None:
    assert cmp.override_for_threshold(threshold, window) == override
    assert claude_code_point(window, override) == point == cmp.threshold_tokens(threshold, window)


def test_sixty_percent_of_200k_is_66_67_to_two_decimals() -> None:
    # The "66.67": ours has one more digit so the point is exact; both round to 66.67.
    assert round(float(cmp.override_for_threshold(60, 200_000)), 2) == 66.67
    assert claude_code_point(200_000, "66.67") == 120_006


@pytest.mark.parametrize(("threshold", "window"), [(83.5, 200_000), (90, 200_000), (99, 1_000_000)])
def test_no_override_at_or_past_claude_codes_own_point(threshold: float, window: int) -> None:
    assert cmp.override_for_threshold(threshold, window) is None


def test_threshold_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError):
        cmp.override_for_threshold(0, 200_000)


@given(
    threshold=st.floats(min_value=1, max_value=99, allow_nan=False).map(lambda x: round(x, 2)),
    window=st.integers(min_value=100_000, max_value=1_000_000),
)
def test_override_is_exact_for_any_threshold_and_window(threshold: float, window: int) -> None:
    override = cmp.override_for_threshold(threshold, window)
    target = cmp.threshold_tokens(threshold, window)
    if override is None:
        assert target >= cmp.default_compact_point(window)
    else:
        assert claude_code_point(window, override) == target
        assert cmp.compact_at_tokens(window, float(override)) == target
        assert 0 < float(override) <= 100


def test_parse_pct_ignores_what_claude_code_ignores() -> None:
    assert cmp.parse_pct("66.667") == 66.667
    for bad in ("0", "-5", "101", "abc", "", "nan"):
        assert cmp.parse_pct(bad) is None


def test_parse_window_env_clamps_and_settings_drop() -> None:
    assert cmp.parse_window("200000") == 200_000
    assert cmp.parse_window("2e5") == 200_000
    assert cmp.parse_window("200_000") == 200_000
    assert cmp.parse_window("200") == 100_000  # "200k" read as 200, raised to the minimum
    assert cmp.parse_window("5000000") == 1_000_000
    assert cmp.parse_window("x") is None
    assert cmp.parse_window_setting(300_000) == 300_000
    assert cmp.parse_window_setting(50_000) is None
    assert cmp.parse_window_setting("300000") is None


def info(env=None, settings=(), model="claude-sonnet-4-5", default=cmp.DEFAULT_WINDOW, sources=()):
    return cmp.effective_compaction(env or {}, list(settings), model, default, settings_sources=sources)


def test_default_model_compacts_at_167k() -> None:
    result = info()
    assert (result.window, result.compact_at, result.enabled) == (200_000, 167_000, True)
    assert result.window_source == "Claude Code default 200000"


def test_1m_variant() -> None:
    result = info(model="claude-opus-4-6[1m]")
    assert (result.window, result.window_source, result.compact_at) == (
        1_000_000,
        "[1m] model variant",
        967_000,
    )


def test_unknown_window_never_compacts_proactively() -> None:
    result = info(default=None, model="my-proxy-model")
    assert result.window is None and result.compact_at is None and result.enabled
    assert cmp.WINDOW_ENV in result.reason


def test_env_window_beats_settings_and_settings_env_beats_process_env() -> None:
    settings = [{"autoCompactWindow": 300_000}, {"env": {cmp.PCT_ENV: "50"}}]
    result = info({cmp.WINDOW_ENV: "150000", cmp.PCT_ENV: "90"}, settings, model="x[1m]", default=None)
    assert result.window == 150_000 and result.window_source == f"env {cmp.WINDOW_ENV}"
    assert result.pct_override == 50 and result.compact_at == 65_000


def test_settings_window_names_its_file_and_is_capped_by_the_model() -> None:
    result = info(settings=[{"autoCompactWindow": 150_000}], sources=["~/.claude/settings.json"])
    assert result.window_source == "settings autoCompactWindow (~/.claude/settings.json)"
    assert result.compact_at == 117_000
    capped = info(settings=[{"autoCompactWindow": 500_000}])
    assert capped.window == 200_000 and "capped" in capped.window_source


def test_the_highest_precedence_file_wins() -> None:
    result = info(settings=[{"autoCompactWindow": 150_000}, {"autoCompactWindow": 120_000}])
    assert result.window == 120_000 and "settings #2" in result.window_source


SONNET = "claude-sonnet-4-5"


def per_model(window: object, model: str = SONNET) -> dict:
    return {"modelSettings": {model: {"autoCompactWindow": window}}}


def test_per_model_window_beats_the_files_top_level_one() -> None:
    # What `/autocompact 120000` writes into the user settings.json (measured on 2.1.332).
    result = info(settings=[{"autoCompactWindow": 180_000, **per_model(120_000)}], sources=["user"])
    assert result.window == 120_000 and result.compact_at == 87_000
    assert result.window_source == f"settings modelSettings.{SONNET}.autoCompactWindow (user)"
    # Another model's entry does not apply.
    other = info(settings=[{"autoCompactWindow": 180_000, **per_model(120_000, "claude-opus-4-8")}])
    assert other.window == 180_000
    # Behind a custom base URL another model's entry configures no window for this one (measured).
    proxied = info({"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}, [per_model(150_000, "claude-opus-4-8")])
    assert proxied.compact_at is None


def test_a_higher_file_beats_a_lower_files_per_model_value() -> None:
    # Measured on 2.1.332: a project's top-level 150,000 beats the user's per-model 180,000.
    result = info(settings=[per_model(180_000), {"autoCompactWindow": 150_000}], sources=["user", "project"])
    assert result.window == 150_000 and result.window_source == "settings autoCompactWindow (project)"


def test_per_model_auto_means_the_models_own_window() -> None:
    # `/autocompact auto` persists "auto": the model's own window, whatever lower top-level values say.
    result = info(settings=[{"autoCompactWindow": 150_000}, per_model("auto")], sources=["user", "project"])
    assert result.window == 200_000 and result.compact_at == 167_000
    assert f"modelSettings.{SONNET}.autoCompactWindow=auto (project)" in result.window_source
    # ... and so, behind a custom base URL, no window is configured: no proactive compaction (measured).
    proxied = info(
        {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}, [{"autoCompactWindow": 150_000}, per_model("auto")]
    )
    assert proxied.compact_at is None and "no window is configured" in proxied.reason
    # A top-level "auto" is ignored: the lower file's value stays (measured).
    top = info(settings=[{"autoCompactWindow": 150_000}, {"autoCompactWindow": "auto"}])
    assert top.window == 150_000


def test_per_model_keys_drop_the_1m_suffix() -> None:
    # `/autocompact 300000` on 2.1.332's 1M default model wrote "claude-opus-5-5".
    result = info(settings=[per_model(300_000, "claude-opus-5-5")], model="claude-opus-5-5[1m]")
    assert result.window == 300_000 and result.compact_at == 267_000


def test_a_version_without_model_settings_reads_only_the_top_level_window() -> None:
    # 2.1.197 has no modelSettings (measured: it compacted at the top-level 150,000's point).
    settings = [{"autoCompactWindow": 150_000, **per_model(120_000)}]
    result = cmp.effective_compaction({}, settings, SONNET, 200_000, per_model_settings=False)
    assert result.window == 150_000 and result.compact_at == 117_000
    proxied = cmp.effective_compaction(
        {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"},
        [per_model(120_000)],
        SONNET,
        200_000,
        per_model_settings=False,
    )
    assert proxied.compact_at is None


@pytest.mark.parametrize(
    ("env", "settings"),
    [
        ({"DISABLE_AUTO_COMPACT": "1"}, []),
        ({"DISABLE_COMPACT": "true"}, []),
        ({}, [{"autoCompactEnabled": False}]),
    ],
)
def test_disabled(env: dict, settings: list) -> None:
    result = info(env, settings)
    assert not result.enabled and result.compact_at is None and "off" in result.reason


def test_override_for_threshold_round_trips_through_effective_compaction() -> None:
    window = 200_000
    env = {cmp.WINDOW_ENV: str(window), cmp.PCT_ENV: cmp.override_for_threshold(60, window)}
    assert info(settings=[{"env": env}], default=None).compact_at == 120_000


def test_custom_base_url_without_a_window_never_compacts_proactively() -> None:
    # Measured on 2.1.197 with claude-opus-4-8 behind a local base URL (see the e2e harness notes).
    from ctxtop.core.compaction import effective_compaction

    env = {"ANTHROPIC_BASE_URL": "http://127.0.0.1:8080"}
    info = effective_compaction(env, [], "claude-opus-4-8", 200_000)
    assert info.compact_at is None and info.window == 200_000
    assert "ANTHROPIC_BASE_URL" in info.reason
    configured = effective_compaction(
        {**env, "CLAUDE_CODE_AUTO_COMPACT_WINDOW": "200000"}, [], "claude-opus-4-8", 200_000
    )
    assert configured.compact_at == 167_000
    official = effective_compaction(
        {"ANTHROPIC_BASE_URL": "https://api.anthropic.com"}, [], "claude-opus-4-8", 200_000
    )
    assert official.compact_at == 167_000
