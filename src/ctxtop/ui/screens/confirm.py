"""A yes/no question with a body to read first (a diff, a command)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    CSS_PATH = "dialog.tcss"
    BINDINGS = [
        Binding("escape", "dismiss(False)", "Cancel"),
        Binding("y", "dismiss(True)", "Yes", show=False),
    ]

    def __init__(self, question: str, body: str, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.body = body
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, id="question")
            with VerticalScroll(id="body"):
                yield Static(self.body, id="body-text", markup=False)
            with Horizontal(id="buttons"):
                yield Button(self.yes, variant="primary", id="yes")
                yield Button("Cancel", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Give the body what the terminal leaves once the question and the buttons are placed, so a long
        diff scrolls inside the dialog and the buttons stay whole (CSS has no calc() to say it)."""
        dialog = self.query_one("#dialog")
        question = self.query_one("#question")
        width = max(dialog.content_region.width, 20) if dialog.content_region.width else self.size.width - 8
        question_rows = max(1, -(-len(self.question) // max(width, 1)))
        # Dialog border 2 + padding 2, question + its margin, buttons 3 + their margin 1.
        chrome = 4 + question_rows + int(question.styles.margin.bottom) + 4
        room = int(self.size.height * 0.9) - chrome
        self.query_one("#body").styles.max_height = max(3, room)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
