"""A session's compaction notes: what ctxtop hands Claude Code across a compaction. View, edit, pin lines."""

from __future__ import annotations

from pathlib import Path

from textual import getters, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, ListItem, ListView, Static, TextArea

from ctxtop.adapters import notes_store
from ctxtop.core.session_ids import short_id
from ctxtop.services import notes
from ctxtop.ui.app import CtxtopApp
from ctxtop.ui.messages import NotesLoaded


class NotesScreen(Screen):
    app = getters.app(CtxtopApp)  # self.app typed as ctxtop's App (Textual's getter; asserts the type)
    CSS_PATH = "notes.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+s", "save", "Save notes"),
        Binding("ctrl+b", "rebuild", "Rebuild"),
        Binding("ctrl+l", "pin_line", "Pin line", show=False),
        Binding("c", "compact", "Compact now", show=False),
    ]

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id
        self.pins: list[str] = []
        self.shown = ""
        """The text last loaded into the editor: anything else in it is the user's unsaved edit."""

    def compose(self) -> ComposeResult:
        yield Static(f"Notes for session {short_id(self.session_id)}", id="title")
        with Horizontal(id="panes"):
            with Vertical(id="notes-box"):
                yield Static(
                    "Notes · rebuilt before each compaction; your own lines are kept",
                    classes="section-title",
                )
                yield TextArea("", id="notes", soft_wrap=True, show_line_numbers=False)
                with Horizontal(classes="buttons"):
                    yield Button("Save", id="save", variant="primary", compact=True)
                    yield Button("Rebuild from transcript", id="rebuild", compact=True)
                    yield Button("Pin current line", id="pin-line", compact=True)
            with Vertical(id="pins-box"):
                yield Static("Pinned lines (always kept)", classes="section-title")
                yield ListView(id="pins")
                yield Input(placeholder="Pin a line… (Enter)", id="new-pin")
                yield Button("Unpin selected", id="unpin", compact=True)
        yield Static("", id="path")
        yield Footer()

    def on_mount(self) -> None:
        self._load(rebuild=False)

    # ------------------------------------------------------------------ I/O in threads

    @work(thread=True, group="notes", exclusive=True)
    def _load(self, rebuild: bool, edited: str | None = None) -> None:
        sid = self.session_id
        if edited is not None:
            # Unsaved edits are saved before a rebuild replaces the editor's text.
            notes_store.save_edit(sid, edited)
        text = None
        if rebuild or notes_store.load_notes(sid) is None:
            try:
                owner = self.app
                transcript = notes.transcript_opening(lambda: owner.engine.factory(owner.config), sid)
                text = notes.rebuild(sid, transcript) if transcript else None
            except Exception:  # noqa: BLE001 - an unreadable transcript leaves the stored notes
                text = None
        if text is None:
            text = notes_store.load_notes(sid)
        self.post_message(
            NotesLoaded(sid, text, notes_store.load_pins(sid), str(notes_store.notes_path(sid)))
        )

    @work(thread=True, group="notes-write")
    def _write(self, kind: str, payload: str, edited: str | None = None) -> None:
        sid = self.session_id
        if kind == "save":
            notes_store.save_edit(sid, payload)
            self.shown = payload
            message = "Notes saved: your lines are kept when they are rebuilt."
        elif kind == "pin":
            message = "Pinned." if notes_store.pin(sid, payload) else "Already pinned."
        else:
            message = "Unpinned." if notes_store.unpin(sid, payload) else "Was not pinned."
        self.app.call_from_thread(self.notify, message, timeout=3)
        if kind != "save":
            self._load(rebuild=True, edited=edited)

    def on_notes_loaded(self, message: NotesLoaded) -> None:
        area = self.query_one("#notes", TextArea)
        self.shown = message.text or "No notes yet: rebuild them from the transcript (ctrl+b)."
        area.load_text(self.shown)
        self.pins = message.pins
        pins = self.query_one("#pins", ListView)
        pins.clear()
        for line in message.pins:
            pins.append(ListItem(Static(line, markup=False)))
        # The file name only: the data dir is long and the same for every session.
        self.query_one("#path", Static).update(f"{Path(message.path).name} · pins: {len(message.pins)}")

    # ------------------------------------------------------------------ actions

    def current_session(self) -> str:
        return self.session_id

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"save": self.action_save, "rebuild": self.action_rebuild, "pin-line": self.action_pin_line,
                   "unpin": self.action_unpin}  # fmt: skip
        if event.button.id in actions:
            actions[event.button.id]()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        line = event.value.strip()
        if line:
            event.input.value = ""
            self._write("pin", line, self._unsaved())

    def _unsaved(self) -> str | None:
        text = self.query_one("#notes", TextArea).text
        return text if text != self.shown else None

    def action_save(self) -> None:
        self._write("save", self.query_one("#notes", TextArea).text)

    def action_rebuild(self) -> None:
        self._load(rebuild=True, edited=self._unsaved())

    def action_pin_line(self) -> None:
        area = self.query_one("#notes", TextArea)
        line = area.document.get_line(area.cursor_location[0]).strip().lstrip("-*# ").strip()
        if line:
            self._write("pin", line, self._unsaved())

    def action_unpin(self) -> None:
        index = self.query_one("#pins", ListView).index
        if index is not None and 0 <= index < len(self.pins):
            self._write("unpin", self.pins[index], self._unsaved())

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_compact(self) -> None:
        self.app.compact_now(self.session_id)
