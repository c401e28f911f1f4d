"""Claude Code: the config dirs and their projects tree, transcripts, settings, permissions, live processes."""
