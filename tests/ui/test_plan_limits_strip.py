"""The TUI's top strip shows the plan limits Claude Code reported (official, with the reset countdown), else the
estimated five-hour block, and alerts at the configured shares."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from ctxtop.services.limits import collect
from ctxtop.ui.widgets.summary import SummaryStrip
from tests.support.fixtures import last_activity, scenario
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


def _shifted_copy(src: Path, dst: Path, seconds: float, tag: str, append: bool = False) -> None:
    """A real transcript moved in time, its requests made new ones (ids tagged), its records naming ``dst``
    (or, appended, the file it joins)."""
    out = []
    for raw in src.read_text().splitlines():
        if not raw.strip():
            continue
        o = json.loads(raw)
        if isinstance(o.get("timestamp"), str):
            when = datetime.fromisoformat(o["timestamp"].replace("Z", "+00:00")) + timedelta(seconds=seconds)
            o["timestamp"] = when.isoformat().replace("+00:00", "Z")
        if isinstance(o.get("requestId"), str):
            o["requestId"] += tag
        if isinstance(o.get("message"), dict) and isinstance(o["message"].get("id"), str):
            o["message"]["id"] += tag
        if "sessionId" in o:
            o["sessionId"] = dst.stem
        out.append(json.dumps(o) + "\n")
    with dst.open("a" if append else "w") as fh:
        fh.write("".join(out))


async def test_top_strip_estimates_the_block_and_alerts_at_the_configured_share(world: World) -> None:
    # No official figure: the strip shows the current five-hour block against the largest earlier one
    # (labelled est.), the figure `report limits` gives; a transcript growing past [limits] warn_pct
    # raises one notification.
    world.write_config("[limits]\nwarn_pct = 66\n")
    long, refactor = scenario("long"), scenario("refactor")
    home = world.claude / long.relpath()
    for n, shift in ((1, -10 * 3600), (2, -10 * 3600 + 600)):  # the earlier block: twice the long session
        _shifted_copy(
            long.path, home.with_name(f"11111111-0000-4000-8000-00000000000{n}.jsonl"), shift, f"-{n}"
        )
    app = world.app(watch=True, limits_interval=0)
    async with app.run_test(size=(160, 36)) as pilot:
        await loaded(pilot, app, 3)
        strip = app.screen.query_one(SummaryStrip)
        await wait_for(pilot, lambda: "Plan" in str(strip.render()))
        monitor = world.factory()(app.config)
        try:
            report = collect(monitor, FIXED_NOW)["estimated"]
        finally:
            monitor.close()
        assert report["used_pct"] == 62.3 and report["resets_in_minutes"] == 4 * 60 + 8
        assert "Plan 5h 62% ↻4h08m (est.)" in str(strip.render())
        assert not any(m.startswith("Plan limit") for m in app.alert_log)
        # The refactor session runs again, 20 minutes on: 71% of the largest earlier block.
        target = world.claude / refactor.relpath()
        _shifted_copy(refactor.path, target, FIXED_NOW - 600 - last_activity(), "-again", append=True)
        await wait_for(pilot, lambda: any(m.startswith("Plan limit") for m in app.alert_log))
        await wait_for(pilot, lambda: "Plan 5h 71% ↻4h08m (est.)" in str(strip.render()))
        await pilot.pause()
        alerts = [m for m in app.alert_log if m.startswith("Plan limit")]
        assert alerts == ["Plan limit: 5h block at 71% of the largest earlier block (estimated): past 66%."]
        assert alerts[0] in {n.message for n in app._notifications} and alerts[0] in app.unacknowledged
