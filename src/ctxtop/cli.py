"""Command-line entry point: argument parsing and wiring only.

Each subcommand names a handler ``module:function`` under ``ctxtop.commands``; handlers are imported lazily
so that a hook or the statusline never pays for Textual, watchdog or the Anthropic SDK.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from types import SimpleNamespace

from ctxtop import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

HOOK_EVENTS = ("pre-compact", "session-start", "post-tool-use", "pre-tool-use", "user-prompt-submit")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--claude-dir",
        action="append",
        metavar="DIR",
        help="a Claude Code config dir to read (repeatable); overrides $CLAUDE_CONFIG_DIR and ~/.claude",
    )
    parser.add_argument("--api-logs", metavar="DIR", help="directory of API session logs (ctxtop.api)")
    parser.add_argument(
        "--codex-dir",
        action="append",
        metavar="DIR",
        help="a Codex CLI home to read (repeatable); overrides $CODEX_HOME and ~/.codex",
    )
    parser.add_argument(
        "--data-dir",
        "--cache-dir",
        dest="cache_dir",
        metavar="DIR",
        help="directory of ctxtop's index (default: the user data dir; --cache-dir is its old name)",
    )


def _report_options(parser: argparse.ArgumentParser) -> None:
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    parser.add_argument("--since", metavar="DATE", help="first day to include (YYYY-MM-DD, local time)")
    parser.add_argument("--until", metavar="DATE", help="last day to include (YYYY-MM-DD, local time)")
    parser.add_argument("--project", metavar="SUBSTR", help="only projects whose path contains SUBSTR")


def build_parser() -> argparse.ArgumentParser:
    import argparse  # here, not at the top: hooks and the statusline never build the parser

    common = argparse.ArgumentParser(add_help=False)
    _common(common)
    parser = argparse.ArgumentParser(
        prog="ctxtop",
        description="Context fill, re-reads and spend of your Claude Code and Anthropic API sessions. "
        "With no command, opens the live TUI.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"ctxtop {__version__}")
    parser.set_defaults(handler="tui:run")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    report = sub.add_parser(
        "report",
        help="print reports (sessions, daily, weekly, monthly, projects, models, noise, context, tools, compactions)",
    )
    report_sub = report.add_subparsers(dest="report", metavar="REPORT", required=True)
    for name, text in (
        ("sessions", "one row per session"),
        ("daily", "totals per day"),
        ("weekly", "totals per week (weeks start on Monday)"),
        ("monthly", "totals per month"),
        ("projects", "totals per project"),
        ("models", "totals per model"),
    ):
        p = report_sub.add_parser(name, help=text, parents=[common])
        _report_options(p)
        p.add_argument(
            "--present-only",
            action="store_true",
            help="leave out archived requests (their transcripts were deleted, e.g. by Claude Code's cleanup)",
        )
        p.set_defaults(handler="report:run")
    limits = report_sub.add_parser(
        "limits", help="plan limits: five-hour and weekly use (official or estimated)", parents=[common]
    )
    limits.add_argument("--json", action="store_true", help="JSON output")
    limits.set_defaults(handler="limits:run")
    noise = report_sub.add_parser(
        "noise", help="what the bash-output filter removed and saved", parents=[common]
    )
    _report_options(noise)
    noise.set_defaults(handler="noise:run")
    context = report_sub.add_parser(
        "context", help="where a session's context goes and what re-reading each piece cost", parents=[common]
    )
    context.add_argument("session_id", metavar="SESSION", help="session id or a unique prefix of it")
    cfmt = context.add_mutually_exclusive_group()
    cfmt.add_argument("--json", action="store_true", help="print JSON")
    cfmt.add_argument("--csv", action="store_true", help="print CSV (one row per item)")
    context.add_argument("--top", type=int, default=15, metavar="N", help="items to list (text output)")
    context.set_defaults(handler="context:run")
    tools = report_sub.add_parser(
        "tools", help="what each tool's outputs cost in re-reads, per project", parents=[common]
    )
    _report_options(tools)
    tools.set_defaults(handler="context:run_tools")
    compactions = report_sub.add_parser(
        "compactions", help="which facts of ctxtop's notes survived each compaction", parents=[common]
    )
    compactions.add_argument("session_id", nargs="?", metavar="SESSION",
                             help="one session (id or unique prefix); default: every session that compacted")  # fmt: skip
    compactions.add_argument("--json", action="store_true", help="print JSON")
    compactions.add_argument("--since", metavar="DATE", help="first day to include (YYYY-MM-DD, local time)")
    compactions.add_argument("--project", metavar="SUBSTR", help="only projects whose path contains SUBSTR")
    compactions.set_defaults(handler="context:run_compactions")
    anomalies = report_sub.add_parser(
        "anomalies",
        help="days, requests and sessions far from their own usual (default: last 7 days)",
        parents=[common],
    )
    anomalies.add_argument("--json", action="store_true", help="print JSON")
    anomalies.add_argument("--since", metavar="DATE", help="first day to include (YYYY-MM-DD, local time)")
    anomalies.add_argument("--until", metavar="DATE", help="last day to include (YYYY-MM-DD, local time)")
    anomalies.add_argument("--project", metavar="SUBSTR", help="only projects whose path contains SUBSTR")
    anomalies.set_defaults(handler="anomalies:run")

    history = sub.add_parser("history", help="export or import past sessions (JSON Lines of requests)")
    history_sub = history.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    hexport = history_sub.add_parser(
        "export", help="print the requests of the sessions in scope as JSON Lines", parents=[common]
    )
    hexport.add_argument("--since", metavar="DATE", help="first day to include (YYYY-MM-DD, local time)")
    hexport.add_argument("--until", metavar="DATE", help="last day to include (YYYY-MM-DD, local time)")
    hexport.set_defaults(handler="history:export")
    himport = history_sub.add_parser(
        "import", help="add the requests of an export (idempotent: known ones are skipped)", parents=[common]
    )
    himport.add_argument(
        "file", metavar="FILE", help="a file written by `ctxtop history export` (- for stdin)"
    )
    himport.set_defaults(handler="history:import_")

    export = sub.add_parser("export", help="send usage to an OpenTelemetry receiver (OTLP)")
    export_sub = export.add_subparsers(dest="export_command", metavar="FORMAT", required=True)
    otlp = export_sub.add_parser(
        "otlp", help="one span per request, per-session and per-day metrics, over OTLP/HTTP", parents=[common]
    )
    otlp.add_argument("--endpoint", metavar="URL", help="the receiver's base URL (default: config, "
                      "$OTEL_EXPORTER_OTLP_ENDPOINT, http://localhost:4318)")  # fmt: skip
    otlp.add_argument("--since", metavar="DATE", help="first day to export (YYYY-MM-DD, local time)")
    otlp.add_argument("--watch", action="store_true", help="keep exporting as sessions grow")
    otlp.add_argument(
        "--headers", nargs="+", action="extend", metavar="K=V", help="headers to send (e.g. an API key)"
    )
    otlp.add_argument("--include-content", action="store_true", help="also export the response text")
    otlp.add_argument("--redact-paths", action="store_true", help="export project paths as digests")
    otlp.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="per call (default: [export] timeout, 10)"
    )
    otlp.add_argument(
        "--attempts", type=int, default=3, metavar="N", help="calls per batch before giving up (default 3)"
    )
    otlp.set_defaults(handler="export:otlp")

    doctor = sub.add_parser(
        "doctor", help="where ctxtop looks, what it found, index and compaction state", parents=[common]
    )
    doctor.add_argument("--json", action="store_true", help="print JSON")
    doctor.set_defaults(handler="doctor:run")

    claude = sub.add_parser("claude", help="install or remove ctxtop's Claude Code settings and hooks")
    claude_sub = claude.add_subparsers(dest="claude_command", metavar="ACTION", required=True)
    install = claude_sub.add_parser(
        "install", help="merge ctxtop's env, hooks and statusline into settings.json", parents=[common]
    )
    install.add_argument("--scope", choices=("user", "project", "local"), default="user")
    install.add_argument(
        "--threshold",
        type=float,
        metavar="PCT",
        help="compact at PCT%% of the context window (default: the config's, 60)",
    )
    install.add_argument(
        "--window",
        type=int,
        metavar="TOKENS",
        help="context window to configure (default: the one in effect, else 200000)",
    )
    install.add_argument("--statusline", action="store_true", help="also set ctxtop as the statusLine")
    install.add_argument(
        "--filter", choices=("post", "wrap"), help="also install the bash-output filter hook"
    )
    install.add_argument(
        "--no-compaction", action="store_true", help="do not set the compaction env values and note hooks"
    )
    install.add_argument(
        "--mcp", action="store_true", help="also register ctxtop's MCP server (in the scope's MCP config)"
    )
    install.add_argument("--dry-run", action="store_true", help="show the diff, change nothing")
    install.add_argument("--settings", metavar="FILE", help="settings.json to edit (overrides --scope)")
    install.add_argument(
        "--enforce-budgets",
        action="store_true",
        help="also install the UserPromptSubmit hook that holds back prompts past a [budgets] hard limit",
    )
    install.set_defaults(handler="claude:install")
    uninstall = claude_sub.add_parser(
        "uninstall", help="remove only ctxtop's entries from settings.json", parents=[common]
    )
    uninstall.add_argument("--scope", choices=("user", "project", "local"), default="user")
    uninstall.add_argument("--dry-run", action="store_true", help="show the diff, change nothing")
    uninstall.add_argument("--settings", metavar="FILE", help="settings.json to edit (overrides --scope)")
    uninstall.set_defaults(handler="claude:uninstall")

    budget = sub.add_parser("budget", help="budgets: lift a hard limit once, or see where spend stands")
    budget_sub = budget.add_subparsers(dest="budget_command", metavar="ACTION", required=True)
    ballow = budget_sub.add_parser(
        "allow",
        help="let a held-back prompt through: SESSION (id or prefix) once, or today",
        parents=[common],
    )
    ballow.add_argument("target", metavar="SESSION|today")
    ballow.set_defaults(handler="budget:allow")
    bstatus = budget_sub.add_parser("status", help="spend against every budget set", parents=[common])
    bstatus.add_argument("session", nargs="?", metavar="SESSION", help="also this session's budgets")
    bstatus.add_argument("--json", action="store_true", help="print JSON")
    bstatus.set_defaults(handler="budget:status")

    hook = sub.add_parser("hook", help="Claude Code hook entry points (read the hook's JSON on stdin)")
    hook.add_argument("event", choices=HOOK_EVENTS)
    hook.set_defaults(handler="hook:run")

    statusline = sub.add_parser(
        "statusline", help="one status line for Claude Code's statusLine (JSON on stdin)", parents=[common]
    )
    statusline.add_argument(
        "--then", metavar="CMD", help="run your own statusline command first and keep its output"
    )
    statusline.set_defaults(handler="statusline:run")

    notes = sub.add_parser("notes", help="show a session's state-preserving notes", parents=[common])
    notes.add_argument(
        "session_id", nargs="?", help="session id or a unique prefix of it (default: the most recent notes)"
    )
    notes.add_argument(
        "--pin", metavar="LINE", action="append", help="pin a line that must survive compaction"
    )
    notes.add_argument("--unpin", metavar="LINE", action="append", help="remove a pinned line")
    notes.set_defaults(handler="notes:run")

    mcp = sub.add_parser(
        "mcp", help="a Model Context Protocol server on stdio for Claude Code (ctxtop claude install --mcp)",
        parents=[common],
    )  # fmt: skip
    mcp.set_defaults(handler="mcp:run")

    run = sub.add_parser("run", help="run a command and print its output filtered; exits with its exit code")
    run.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ...")
    run.set_defaults(handler="run:run")

    filt = sub.add_parser("filter", help="filter noisy output read from stdin")
    filt.add_argument("--command", metavar="CMD", help="the command that produced the output (picks rules)")
    filt.add_argument("--no-save", action="store_true", help="do not save the raw output")
    filt.set_defaults(handler="run:filter_stdin")
    return parser


def _fast_args(argv: Sequence[str]) -> SimpleNamespace | None:
    """Hooks and the statusline run on every model turn: skip argparse (import and parser) for them."""
    if len(argv) == 2 and argv[0] == "hook" and argv[1] in HOOK_EVENTS:
        return SimpleNamespace(command="hook", event=argv[1], handler="hook:run")
    if argv[:1] == ["statusline"]:
        cache = then = None
        rest = list(argv[1:])
        while rest:
            arg = rest.pop(0)
            if arg.startswith(("--cache-dir=", "--data-dir=")):  # one option, two names
                cache = arg.split("=", 1)[1]
            elif arg == "--then" and rest:
                then = rest.pop(0)
            else:
                return None
        return SimpleNamespace(
            command="statusline", handler="statusline:run", cache_dir=cache, claude_dir=None, api_logs=None,
            then=then,
        )  # fmt: skip
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["statusline"]:
        from ctxtop import statusline_fast  # the console script's way to the statusline's cached answer

        if statusline_fast.PENDING is None and statusline_fast.main(argv[1:]):
            return 0
    if argv[:1] == ["report"]:
        from ctxtop import report_fast  # the kept output, when the index proves nothing changed

        if not report_fast.ASKED and report_fast.main(argv[1:]):
            return 0
    fast = _fast_args(argv)
    args = fast if fast is not None else build_parser().parse_args(argv)
    module_name, _, func_name = args.handler.partition(":")
    module = importlib.import_module(f"ctxtop.commands.{module_name}")
    try:
        return int(getattr(module, func_name)(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `ctxtop report sessions | head` must not print a traceback.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
