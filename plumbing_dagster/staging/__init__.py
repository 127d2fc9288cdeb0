"""Staging layer: landed days typed by their contract, deduplicated, written to a warehouse."""
