"""Reusable widgets: form rows generated from FieldSpecs, the config table, the step log."""
