"""The use cases every front end shares (CLI, hooks, statusline, TUI, exporters): no Textual, no argparse."""
