"""Beats as a table: the detector's output, labels, and fixed windows for learning."""
