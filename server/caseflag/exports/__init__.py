"""The list and the answers written out: exports, CSV rows, the extension's index and locales, SQLite, changelog, releases."""
