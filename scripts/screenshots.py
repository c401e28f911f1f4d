"""Regenerate screenshots/*.svg (and .png when a converter is available) from the test fixtures.

    python scripts/screenshots.py [--extra-claude-dir DIR] [--out screenshots]

Runs the real app headless on a temporary copy of ``tests/fixtures/claude`` (transcripts written by the real
Claude Code CLI against the fake API) with a fixed clock and theme, so the pictures change only when the UI
or the fixtures do. Any python will do: when ctxtop is not importable it re-runs itself with the repository's
``.venv/bin/python``. PNGs need the ``cairosvg`` package (``pip install -e '.[dev]'``) or ``rsvg-convert``
(Debian: librsvg2-bin); without either only the SVGs are written, and the script says how to get PNGs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def _reexec_in_venv() -> None:
    """``python scripts/screenshots.py`` with a python that lacks ctxtop: run again with the venv's."""
    try:
        import ctxtop.ui.app  # noqa: F401
    except ModuleNotFoundError:
        # (Compare prefixes: the venv's python is usually a symlink to the very python running this.)
        if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
            os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])
        raise SystemExit(
            "screenshots: ctxtop is not importable and there is no .venv: run the README's second command first"
        ) from None


sys.path.insert(0, str(ROOT))  # tests.support.fixtures: the fixture data and its clock


def make_world(extra: list[Path], tmp: Path) -> dict[str, Path]:
    from tests.support.fixtures import FIXTURES

    claude = tmp / "claude"
    shutil.copytree(FIXTURES, claude)
    for more in extra:
        shutil.copytree(more / "projects", claude / "projects", dirs_exist_ok=True)
    dirs = {name: tmp / name for name in ("config", "cache", "data", "api")}
    for d in dirs.values():
        d.mkdir()
    os.environ.update({
        "CTXTOP_CONFIG_DIR": str(dirs["config"]), "CTXTOP_CACHE_DIR": str(dirs["cache"]),
        "CTXTOP_DATA_DIR": str(dirs["data"]), "CTXTOP_API_LOG_DIR": str(dirs["api"]), "TZ": "UTC",
    })  # fmt: skip
    time.tzset()
    # A session budget so the screenshots show a budget badge, as a user's would.
    (dirs["config"] / "config.toml").write_text("[budgets]\nsession_usd = 12.0\ndaily_usd = 20.0\n")
    return {"claude": claude, **dirs}


async def shoot(
    world: dict[str, Path], out: Path, theme: str, size: tuple[int, int], suffix: str
) -> list[Path]:
    from ctxtop.adapters.config import Config
    from ctxtop.services.monitor import Monitor
    from ctxtop.ui.app import CtxtopApp

    def factory(config: Config) -> Monitor:
        return Monitor.open([str(world["claude"])], str(world["api"]), str(world["cache"]), config)

    from tests.support.fixtures import last_activity

    now = float(int(last_activity()) // 60 * 60 + 1800)  # half an hour after the last activity
    app = CtxtopApp(factory, config_dir=world["config"], clock=lambda: now, watch=False, theme=theme,
                    claude_dirs=[str(world["claude"])])  # fmt: skip
    written: list[Path] = []

    async def until(pilot, predicate: Callable[[], object]) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 20
        while not predicate():
            if time.monotonic() > deadline:
                raise SystemExit("screenshots: the app did not get there in 20 s")
            await pilot.pause(0.05)
        await pilot.pause(0.2)

    async def save(name: str) -> None:
        path = out / f"{name}{suffix}.svg"
        app.save_screenshot(filename=path.name, path=str(out))
        written.append(path)

    from tests.support.fixtures import scenario

    session = scenario("refactor").session_id  # the session that compacts mid-task

    async with app.run_test(size=size, notifications=False) as pilot:
        await until(pilot, lambda: len(app.views) >= 3)
        await save("dashboard")
        app.open_detail(session)
        await until(pilot, lambda: getattr(app.screen, "message", None) is not None)
        await save("detail")
        app.pop_screen()
        await pilot.press("h")
        await until(pilot, lambda: getattr(app.screen, "message", None) is not None)
        await save("history")
        app.pop_screen()
        await pilot.press("s")
        await pilot.pause(0.2)
        await save("settings")
        app.pop_screen()
        app.open_notes(session)
        await until(
            pilot, lambda: app.screen.query("#path") and ".md" in str(app.screen.query_one("#path").render())
        )
        await save("notes")
    return written


def to_png(svgs: list[Path]) -> str:
    rsvg = shutil.which("rsvg-convert")
    if rsvg:
        for svg in svgs:
            # librsvg trims the leading and trailing (non-breaking) spaces of each text run unless told not to.
            text = svg.read_text(encoding="utf-8").replace("<svg ", '<svg xml:space="preserve" ', 1)
            with tempfile.NamedTemporaryFile("w", suffix=".svg", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                subprocess.run([rsvg, "-o", str(svg.with_suffix(".png")), fh.name], check=True)
        return "rsvg-convert"
    try:
        import cairosvg  # type: ignore[import-not-found]
    except ImportError:
        return ""
    for svg in svgs:
        # cairosvg does not fall back from "Fira Code" to the generic family: name a monospace font itself
        # (the SVG embeds Fira Code as a web font, which cairo cannot load), or columns do not line up.
        text = svg.read_text(encoding="utf-8").replace("Fira Code, monospace", "DejaVu Sans Mono, monospace")
        cairosvg.svg2png(bytestring=text.encode("utf-8"), write_to=str(svg.with_suffix(".png")))
    return "cairosvg"


def main() -> int:
    _reexec_in_venv()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra-claude-dir", type=Path, action="append", default=[],
                        help="another Claude Code config dir whose projects/ are added to the fixtures")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--theme", default="ctxtop-dark")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ctxtop-shots-") as tmp:
        world = make_world(args.extra_claude_dir, Path(tmp))
        main_svgs = asyncio.run(shoot(world, args.out, args.theme, (120, 36), ""))
        svgs = main_svgs + asyncio.run(shoot(world, args.out, args.theme, (100, 30), "-100x30"))
        svgs += asyncio.run(shoot(world, args.out, "ctxtop-light", (120, 36), "-light"))
    for svg in svgs:
        print(f"wrote {svg.relative_to(ROOT) if svg.is_relative_to(ROOT) else svg}")
    # PNGs of the main set only: they are for places that cannot show SVG, and they are large.
    converter = to_png(main_svgs)
    if converter:
        print(f"PNG versions written with {converter}")
    else:
        print("SVGs only: no PNG converter found. Install one with `.venv/bin/pip install -e '.[dev]'` "
              "(cairosvg) or `apt install librsvg2-bin` (rsvg-convert)", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
