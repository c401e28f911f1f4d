"""The TUI's top strip shows the plan limits Claude Code reported (official, with the reset countdown)."""

from __future__ import annotations

import json

from ctxtop.ui.widgets.summary import SummaryStrip
from tests.ui.conftest import FIXED_NOW, World, loaded, wait_for


async def test_top_strip_shows_official_plan_limits(world: World) -> None:
    folder = world.data_dir / "observed"
    folder.mkdir(mode=0o700)
    now = FIXED_NOW  # the app's injected clock
    (folder / "s-1.json").write_text(json.dumps({
        "session_id": "s-1", "observed_at": now,
        "rate_limits": {"five_hour": {"used_percentage": 71, "resets_at": now + 2 * 3600 + 600},
                        "seven_day": {"used_percentage": 20.4, "resets_at": now + 3 * 86400 + 4 * 3600 + 60}},
    }))  # fmt: skip
    app = world.app()
    async with app.run_test(size=(160, 36)) as pilot:
        await loaded(pilot, app, 3)
        strip = app.screen.query_one(SummaryStrip)
        await wait_for(pilot, lambda: "Plan" in str(strip.render()))
        text = str(strip.render())
        assert "Plan 5h 71% ↻2h" in text and "7d 20% ↻3d4h (official)" in text
