"""Dates as news metadata writes them: ISO, Jalali, Persian or Latin digits.

``parse_date`` returns a Gregorian :class:`datetime.date` or ``None``; it never
guesses a date out of text it cannot read. A four-digit year below 1700 is read
as a Jalali (solar hijri) year, the calendar of Iranian outlets: «۱۴۰۲/۰۵/۱۲»,
``1402-05-12``.
"""
from __future__ import annotations

import re
from datetime import date, datetime

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
# year, month, day with -, / or . between; a time or zone may follow
_YMD = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T\s].*)?$")
# year and month only (a month is enough for monthly aggregation)
_YM = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})\s*$")
JALALI_YEAR_LIMIT = 1700


def parse_date(value: object) -> date | None:
    """A date from a metadata field, or ``None`` when it cannot be read."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).translate(_DIGITS).replace("\u200f", "").replace("\u200e", "")
    m = _YMD.match(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = _YM.match(text)
        if not m:
            return None
        y, mo, d = int(m.group(1)), int(m.group(2)), 1
    try:
        if y < JALALI_YEAR_LIMIT:
            import jdatetime

            return jdatetime.date(y, mo, d).togregorian()
        return date(y, mo, d)
    except ValueError:  # month 13, day 32, Esfand 30 in a common year …
        return None
