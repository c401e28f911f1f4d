"""Settings, built from ``ctxtop.adapters.config.SCHEMA``: one row per setting, saved on Enter or on leaving
the field, applied live. Also: install ctxtop's compaction settings and hooks into Claude Code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import getters, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Label, Select, Static, Switch

from ctxtop.adapters.config import SCHEMA, Setting, coerce
from ctxtop.services import install
from ctxtop.ui.app import CtxtopApp

SCREEN_SETTINGS = tuple(s for s in SCHEMA if s.screen)


def widget_id(setting: Setting) -> str:
    return "set-" + setting.key.replace(".", "-")


def shown(setting: Setting, value: Any) -> str:
    if setting.kind == "paths":
        return ", ".join(value or [])
    if setting.kind == "float":
        return f"{float(value):g}"
    return "" if value is None else str(value)


class SettingsScreen(Screen):
    app = getters.app(CtxtopApp)  # self.app typed as ctxtop's App (Textual's getter; asserts the type)
    CSS_PATH = "settings.tcss"
    BINDINGS = [Binding("escape", "back", "Back"), Binding("i", "install", "Install into Claude Code")]

    def compose(self) -> ComposeResult:
        yield Static("Settings · saved to config.toml in ctxtop's config dir, applied at once", id="title")
        with VerticalScroll(id="form"):
            for setting in SCREEN_SETTINGS:
                with Horizontal(classes="setting"):
                    with Vertical(classes="label-box"):
                        yield Label(setting.title, classes="setting-title")
                        yield Static(setting.help, classes="setting-help", id=widget_id(setting) + "-help")
                    yield self._editor(setting)
            with Horizontal(classes="setting"):
                with Vertical(classes="label-box"):
                    yield Label("Claude Code", classes="setting-title")
                    yield Static("Merge ctxtop's compaction env and note hooks into Claude Code's settings.json "
                                 "(shows the diff first; same as `ctxtop claude install`).",
                                 classes="setting-help")  # fmt: skip
                yield Button("Install…", id="install", variant="primary", compact=True)
        yield Static("", id="saved")
        yield Footer()

    def _editor(self, setting: Setting) -> Widget:
        value = self._current(setting)
        wid = widget_id(setting)
        if setting.kind == "choice":
            options = self._choices(setting)
            return Select([(o, o) for o in options], value=value if value in options else Select.NULL, id=wid,
                          allow_blank=False, classes="editor", compact=True)  # fmt: skip
        if setting.kind == "bool":
            return Switch(value=bool(value), id=wid, classes="editor")
        restrict = r"[0-9.]*" if setting.kind in ("float", "int") else None
        return Input(shown(setting, value), id=wid, restrict=restrict, classes="editor", compact=True,
                     placeholder="default" if setting.kind in ("paths", "str") else "")  # fmt: skip

    def _current(self, setting: Setting) -> Any:
        # The theme in effect, not the file's text: an unknown name there (reported at start) is not an
        # option, and showing another option must not save it over what the user wrote.
        return self.app.theme if setting.key == "ui.theme" else self.app.config.get(setting.key)

    def _choices(self, setting: Setting) -> list[str]:
        if setting.key == "ui.theme":
            return sorted(self.app.available_themes)
        return list(setting.choices)

    # ------------------------------------------------------------------ saving

    def _setting_for(self, widget: Widget) -> Setting | None:
        for setting in SCREEN_SETTINGS:
            if widget.id == widget_id(setting):
                return setting
        return None

    def _apply(self, widget: Widget, raw: Any) -> None:
        setting = self._setting_for(widget)
        if setting is None:
            return
        help_line = self.query_one(f"#{widget_id(setting)}-help", Static)
        try:
            value = coerce(setting, raw)
        except ValueError as exc:
            help_line.update(str(exc))
            help_line.add_class("error")
            self.notify(str(exc), severity="error", timeout=6)
            return
        help_line.update(setting.help)
        help_line.remove_class("error")
        if value != self._current(setting):
            self.app.save_setting(setting.key, value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._apply(event.input, event.value)

    def on_input_blurred(self, event: Input.Blurred) -> None:
        self._apply(event.input, event.value)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self._apply(event.select, event.value)

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self._apply(event.switch, event.value)

    def settings_saved(self, path: str) -> None:
        self.query_one("#saved", Static).update(f"Saved to {path}")

    def sessions_changed(self, _ids: set[str], _initial: bool) -> None:
        # A theme switched from the palette shows here too; guard so it is not saved back as an edit.
        select = self.query_one("#set-ui-theme", Select)
        if select.value != self.app.theme and self.app.theme in self.app.available_themes:
            with self.prevent(Select.Changed):
                select.value = self.app.theme

    # ------------------------------------------------------------------ Claude Code install

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "install":
            self.action_install()

    def action_back(self) -> None:
        self.app.pop_screen()

    def _install_options(self) -> install.InstallOptions:
        dirs = self.app.claude_dirs
        settings = str(Path(dirs[0]).expanduser() / "settings.json") if dirs else None
        # The TUI's own threshold, which it already saved: nothing for the plan to remember.
        return install.InstallOptions(settings=settings, threshold=self.app.config.threshold, remember=False)

    def action_install(self) -> None:
        self._plan_install()

    @work(thread=True, group="install", exclusive=True)
    def _plan_install(self) -> None:
        # The plan ``ctxtop claude install`` makes, from the same options: the two can never disagree.
        try:
            plan: install.Plan | str = install.plan_install(self._install_options())
        except Exception as exc:  # noqa: BLE001 - shown to the user (InstallRefused, an unreadable file)
            plan = str(exc)
        self.app.call_from_thread(self._show_plan, plan)

    def _show_plan(self, plan: install.Plan | str) -> None:
        from ctxtop.ui.screens.confirm import ConfirmScreen

        if isinstance(plan, str):
            self.notify(plan or "install failed", severity="error", timeout=12)
            return
        if not plan.changed:
            self.notify(f"no change to {plan.path}\nAfterwards: {plan.outcome()}", timeout=10)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._apply_install(plan)

        self.app.push_screen(
            ConfirmScreen("Apply this change to Claude Code's settings?", plan_text(plan), "Install"),
            confirmed,
        )

    @work(thread=True, group="install", exclusive=True)
    def _apply_install(self, plan: install.Plan) -> None:
        try:
            notes = install.apply(plan)
        except Exception as exc:  # noqa: BLE001 - shown to the user (refused, read-only, changed meanwhile)
            self.app.call_from_thread(self.notify, str(exc) or "install failed", severity="error", timeout=12)
            return
        lines = [f"updated {plan.path}", *plan.summary(), *notes, plan.outcome()]
        self.app.call_from_thread(
            self.notify, "\n".join(lines), title="Installed into Claude Code", timeout=15
        )


def plan_text(plan: install.Plan) -> str:
    """The plan as the dialog shows it: each key that changes, the notes, the diff, where Claude Code compacts."""
    lines = [f"{plan.path}:"]
    for key in plan.keys():
        before = "(none)" if key.before is None else _short(key.before)
        after = "(removed)" if key.after is None else _short(key.after)
        where = "" if key.file == str(plan.path) else f" in {key.file}"
        lines.append(f"  {key.key}{where}: {before} -> {after}")
    lines += [f"  note: {note}" for note in [*plan.notes, *plan.change.notes]]
    return "\n".join(lines) + "\n\n" + plan.diff() + "\nAfterwards: " + plan.outcome()


def _short(value: Any, width: int = 60) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"
