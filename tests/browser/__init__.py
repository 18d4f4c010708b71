"""Tests that drive the real extension in Debian's Chromium (a package, so its conftest has its own name)."""
