"""caseflag: flag websites tied to known copyright-enforcement cases."""

__version__ = "0.1.0"
