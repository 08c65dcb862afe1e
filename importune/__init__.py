"""importune: letters of concern for prisoners of conscience, from one SQLite workspace."""

__version__ = "0.1.0"
