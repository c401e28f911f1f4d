"""The MCP part of ``ctxtop claude install --mcp`` / ``uninstall``: ctxtop's server in Claude Code's MCP config."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ctxtop.sources.claude_code import mcp_config as cm
from ctxtop.sources.claude_code import settings as cs

WHERE = {"user": "user scope", "local": "local scope (this project, you only)", "project": "project scope"}


def _write(change: cs.Change) -> str | None:
    target = Path(os.path.realpath(change.path))
    if change.changed and target.exists() and not os.access(target, os.W_OK):
        return f"{target} is read-only; the MCP server was not registered"
    try:
        cs.apply(change)
    except OSError as exc:
        return f"could not write {target}: {exc.strerror or exc}; the MCP server was not registered"
    return None


def problem(args: argparse.Namespace) -> str | None:
    """Why the server cannot be registered (checked before install writes anything), or None."""
    try:
        cm.plan_install(cm.load(args.scope), args.scope)
    except cs.SettingsError as exc:
        return str(exc)
    return None


def install(args: argparse.Namespace) -> int:
    """Register ``ctxtop mcp``; 0, or 1 with a message on stderr (the file is then untouched)."""
    try:
        loaded = cm.load(args.scope)
        change = cm.plan_install(loaded, args.scope)
    except cs.SettingsError as exc:
        print(f"ctxtop: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        sys.stdout.write(change.diff() or f"no change to {change.path}\n")
        return 0
    problem = _write(change)
    if problem:
        print(f"ctxtop: {problem}", file=sys.stderr)
        return 1
    done = "updated" if change.changed else "already registered in"
    print(f"ctxtop: MCP server {cm.SERVER} ({WHERE[args.scope]}): {done} {change.path}")
    print(f"  tools: mcp__{cm.SERVER}__context_status, cost, plan_limits, notes, pin_note")
    if args.scope == "project":
        print("  note: interactive Claude Code may ask you to approve the servers of a project's .mcp.json")
    return 0


def uninstall(args: argparse.Namespace) -> int:
    """Take ctxtop's server out of the scope's MCP config (nothing else); 0, or 1 with a message."""
    try:
        loaded = cm.load(args.scope)
        change = cm.plan_uninstall(loaded, args.scope)
    except cs.SettingsError as exc:
        if not cm.recorded(args.scope):
            return 0  # ctxtop never registered a server there: that file's state is not uninstall's business
        print(f"ctxtop: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        if change.changed:
            sys.stdout.write(change.diff())
        return 0
    problem = _write(change)
    if problem:
        print(f"ctxtop: {problem}", file=sys.stderr)
        return 1
    if change.changed:
        gone = "removed the file (ctxtop had created it)" if change.after is None else "removed its entry"
        print(f"ctxtop: MCP server {cm.SERVER}: {gone} ({change.path})")
    for note in change.notes:
        print(f"  note: {note}")
    return 0
