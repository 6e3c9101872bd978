"""CSV downloads are opened in spreadsheets, which run a cell starting with `=`, `+`, `-` or `@`
(or a tab or carriage return before one) as a formula: a name such as `=HYPERLINK(...)` typed
into an incident would run on the reader's machine. As OWASP recommends, such a cell is
written with a leading `'`, which spreadsheets show as text and do not display.
"""

import csv

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """The value as a CSV cell: text that would start a formula gets a leading `'`; numbers,
    which cannot hold one, are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


class SpreadsheetSafeWriter:
    """`csv.writer`, with every cell passed through `spreadsheet_safe`."""

    def __init__(self, stream, **options):
        self._writer = csv.writer(stream, **options)

    def writerow(self, row):
        return self._writer.writerow([spreadsheet_safe(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)
