"""The Textual terminal UI of buchex (German). Run with `python -m tui [--home DIR]`."""
