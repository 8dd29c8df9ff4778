"""Test fixture module (filled in by its owner)."""
