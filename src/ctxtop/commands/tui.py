"""``ctxtop`` with no command: the live TUI (or, without a terminal, the sessions report)."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        # CI and pipes run `ctxtop` too: print the report rather than a screen nobody can see.
        print(
            "ctxtop: not a terminal; printing `ctxtop report sessions` instead of opening the TUI",
            file=sys.stderr,
        )
        from ctxtop.commands import report

        ns = argparse.Namespace(**vars(args))
        for name, default in (
            ("json", False),
            ("csv", False),
            ("since", None),
            ("until", None),
            ("project", None),
        ):
            if not hasattr(ns, name):
                setattr(ns, name, default)
        ns.report = "sessions"
        return report.run(ns)

    from ctxtop.adapters import paths
    from ctxtop.adapters.config import Config
    from ctxtop.services.monitor import Monitor
    from ctxtop.ui.app import CtxtopApp

    claude_dirs = getattr(args, "claude_dir", None)
    api_logs = getattr(args, "api_logs", None)
    cache_dir = getattr(args, "cache_dir", None)
    codex_dirs = getattr(args, "codex_dir", None)

    def factory(config: Config) -> Monitor:
        return Monitor.open(claude_dirs, api_logs, cache_dir, config, codex_dirs)

    app = CtxtopApp(factory, config_dir=paths.config_dir(), claude_dirs=claude_dirs)
    app.run()
    return int(app.return_code or 0)
