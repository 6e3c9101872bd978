"""Formatting for incident facts: durations and moments known to the day or the minute."""

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import ngettext

register = template.Library()


@register.filter
def duration(value):
    """A timedelta in words: '13 hours', '2 days 4 hours', '45 minutes'.

    Not Django's timesince: a duration has no start date, and timesince counts months (and
    weeks) from one."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [
        ngettext(singular, plural, amount) % amount
        for amount, singular, plural in (
            (days, "%d day", "%d days"),
            (hours, "%d hour", "%d hours"),
            (minutes, "%d minute", "%d minutes"),
        )
        if amount
    ]
    return " ".join(parts[:2]) or "under a minute"


@register.filter
def moment(value):
    """Dates recorded without a time of day are stored at midnight UTC; show them as dates."""
    if value is None:
        return ""
    value = timezone.localtime(value)
    if (value.hour, value.minute, value.second) == (0, 0, 0):
        return date_format(value, "j M Y")
    return date_format(value, "j M Y, H:i T")
