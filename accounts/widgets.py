"""The date and time inputs every form uses.

A browser's <input type="date"> takes only YYYY-MM-DD, and <input type="datetime-local">
only YYYY-MM-DDTHH:MM; any other value (such as Chinese 2026/12/02) is blanked, and the
form then posts the field empty. Django's own widgets render the active language's first
input format, so each widget here pins the ISO format whatever the language. Django reads
ISO dates and datetimes back in every language. accounts is the floor every app may
import, so the widgets live here.
"""

from django import forms

ISO_DATE = "%Y-%m-%d"
ISO_DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
ISO_TIME = "%H:%M"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=ISO_DATE)


class DateTimeLocalInput(forms.DateTimeInput):
    """A date and a time in the user's time zone; the form field turns it into an aware
    datetime with the current time zone."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=ISO_DATETIME_LOCAL)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=ISO_TIME)
