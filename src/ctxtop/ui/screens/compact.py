"""The "Compact now" dialog: the exact text, where it would go, and a copy that says what really worked."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from ctxtop.adapters import clipboard
from ctxtop.services import notes
from ctxtop.services.compact import CompactPlan, copy_report, plan, send

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ctxtop.ui.app import CtxtopApp

BUSY_WARNING = (
    "● busy: Claude Code is answering right now. Text typed now is queued or lands mid-turn; "
    "waiting until the session is ◆ waiting or ○ idle is safer."
)


class CompactScreen(ModalScreen[bool]):
    """Dismisses with True when the user chose to send the command to the pane."""

    CSS_PATH = "compact.tcss"
    BINDINGS = [
        Binding("escape", "dismiss(False)", "Close"),
        Binding("ctrl+y", "copy", "Copy", show=False),
    ]

    def __init__(self, plan: CompactPlan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        plan = self.plan
        with Vertical(id="compact-dialog"):
            if plan.pane:
                question = f"Type this into tmux pane {plan.pane} (Claude Code runs there) and press Enter?"
            else:
                question = (
                    "No tmux pane running this session's Claude Code was found, so nothing is typed. "
                    "Paste this into its prompt yourself:"
                )
            yield Static(question, id="compact-question", markup=False)
            if plan.busy:
                yield Static(BUSY_WARNING, id="compact-busy", markup=False)
            yield TextArea(plan.command, id="compact-command", read_only=True, soft_wrap=True,
                           show_line_numbers=False)  # fmt: skip
            yield Static("", id="compact-status", markup=False)
            with Horizontal(id="compact-buttons"):
                if plan.pane:
                    label = "Send anyway" if plan.busy else "Send"
                    yield Button(label, variant="warning" if plan.busy else "primary", id="send")
                yield Button("Copy", id="copy")
                yield Button("Cancel" if plan.pane else "Close", id="close")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "copy":
            self.action_copy()
        else:
            self.dismiss(event.button.id == "send")

    def action_copy(self) -> None:
        self.query_one("#compact-status", Static).update("Copying…")
        self.app.copy_to_clipboard(self.plan.command)  # OSC 52: sent, never confirmed
        self._copy(self.plan.command)

    @work(thread=True, exclusive=True, group="compact-copy")
    def _copy(self, text: str) -> None:
        report = copy_report(clipboard.copy(text))
        self.app.call_from_thread(self.query_one("#compact-status", Static).update, report)


def start_compact(app: CtxtopApp, session_id: str) -> None:
    live = app.live.get(session_id)
    pid, cwd, busy = (live.pid, live.cwd, live.status == "busy") if live else (None, None, False)
    app.run_worker(
        lambda: _worker(app, session_id, pid, cwd, busy), thread=True, group="compact", exclusive=True
    )


def _worker(app: CtxtopApp, session_id: str, pid: int | None, cwd: str | None, busy: bool) -> None:
    transcript = notes.transcript_opening(lambda: app.engine.factory(app.config), session_id)
    app.call_from_thread(_decide, app, plan(session_id, transcript, pid, cwd, busy))


def _decide(app: CtxtopApp, compact: CompactPlan) -> None:
    def confirmed(yes: bool | None) -> None:
        if yes and compact.pane:
            app.run_worker(lambda: _send(app, compact), thread=True, group="compact")

    app.push_screen(CompactScreen(compact), confirmed)


def _send(app: CtxtopApp, compact: CompactPlan) -> None:
    error = send(compact)
    if error:
        shown = CompactPlan(compact.session_id, compact.command, None, compact.busy)
        app.call_from_thread(app.notify, f"tmux did not take it ({error}): the command is shown to copy instead.",
                             severity="error", timeout=12)  # fmt: skip
        app.call_from_thread(_decide, app, shown)
    else:
        app.call_from_thread(
            app.notify, f"Typed /compact into tmux pane {compact.pane}.", title="Compact now"
        )
