"""buchex engine: everything except the terminal UI. Never imports textual or tui."""
