"""The exceptions the core raises instead of printing or exiting.

Every refusal is an :class:`ImportuneError` whose message is one line that names
what was wrong and where (file, row, column, field or record). The command layer
catches it in one place, prints the line to stderr and exits with status 1, so
the core stays usable from plain Python and tests can assert on the message.
"""

from __future__ import annotations


class ImportuneError(Exception):
    """A refusal: bad input, a record not found, a conflict. Nothing was changed.

    ``field`` names the field or column to blame, when there is one, so that an
    importer can prefix the file, row and column.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInput(ImportuneError):
    """A value that does not fit its field: a date not in ISO form, an unknown country."""


class NotFound(ImportuneError):
    """No record, template or file by that name."""


class Conflict(ImportuneError):
    """The change would clash with what is there: a duplicate slug, letters that need a record."""


class WorkspaceError(ImportuneError):
    """No workspace where one was expected, or one made by a newer importune."""
