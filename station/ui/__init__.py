"""The technicians' Textual TUI: a thin layer over the headless engine."""
