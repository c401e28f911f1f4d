"""``ctxtop claude install`` / ``uninstall``: configure Claude Code to compact at ctxtop's threshold.

Thin: the options become a plan (``ctxtop.services.install``), printed (``--dry-run``) or applied.
"""

from __future__ import annotations

import argparse
import sys

from ctxtop.services import install as svc
from ctxtop.sources.claude_code import settings as cs


def _err(message: str) -> int:
    print(f"ctxtop: {message}", file=sys.stderr)
    return 1


def options(args: argparse.Namespace) -> svc.InstallOptions:
    return svc.InstallOptions(
        scope=args.scope,
        settings=args.settings,
        statusline=bool(args.statusline),
        filter_mode=args.filter,
        compaction=not args.no_compaction,
        threshold=args.threshold,
        window=args.window,
        remember=getattr(args, "remember", True),
        budgets=bool(getattr(args, "enforce_budgets", False)),
    )


def _dry_run(plan: svc.Plan) -> int:
    sys.stdout.write(plan.diff() or f"no change to {plan.path}\n")
    print(f"dry run: nothing written. Afterwards: {plan.outcome()}", file=sys.stderr)
    return 0


def install(args: argparse.Namespace) -> int:
    if getattr(args, "mcp", False):
        from ctxtop.commands import claude_mcp

        refused = claude_mcp.problem(args)  # before anything is written
        if refused:
            return _err(refused)
    try:
        plan = svc.plan_install(options(args))
    except svc.InstallRefused as exc:
        return _err(str(exc))
    for problem in plan.problems:
        print(f"ctxtop: {problem}", file=sys.stderr)
    if args.dry_run:
        code = _dry_run(plan)
        return code or _mcp("install", args)
    try:
        remembered = svc.apply(plan)
    except svc.InstallRefused as exc:
        return _err(str(exc))
    path, change = plan.path, plan.change
    if not change.changed:
        print(f"ctxtop: {path} already has these settings; nothing changed.")
    else:
        print(f"ctxtop: updated {path}" + (f" (-> {plan.target})" if plan.target != path.absolute() else ""))
        if change.before is not None:
            print(f"  backup of the original: {cs.backup_path(plan.target)}")
    for line in plan.summary():
        print(f"  {line}")
    for line in [*plan.notes, *remembered, *change.notes]:
        print(f"  note: {line}")
    print(plan.outcome() + " New Claude Code sessions pick this up.")
    return _mcp("install", args)


def _mcp(action: str, args: argparse.Namespace) -> int:
    """``--mcp`` on install registers ctxtop's MCP server; uninstall always takes it out (if it is there)."""
    if action == "install" and not getattr(args, "mcp", False):
        return 0
    from ctxtop.commands import claude_mcp

    return int(getattr(claude_mcp, action)(args))


def uninstall(args: argparse.Namespace) -> int:
    try:
        plan = svc.plan_uninstall(args.scope, args.settings)
    except svc.InstallRefused as exc:
        return _err(str(exc))
    if args.dry_run:
        code = _dry_run(plan)
        return code or _mcp("uninstall", args)
    try:
        svc.apply(plan)
    except svc.InstallRefused as exc:
        return _err(str(exc))
    change = plan.change
    if not change.changed:
        print(f"ctxtop: nothing of ctxtop's in {plan.path}; nothing changed.")
    elif change.after is None:
        print(f"ctxtop: removed {plan.path} (ctxtop had created it).")
    else:
        print(f"ctxtop: removed ctxtop's entries from {plan.path}.")
    for line in plan.notes:
        print(f"  note: {line}")
    print(plan.outcome())
    return _mcp("uninstall", args)
