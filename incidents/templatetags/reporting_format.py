"""How reporting deadlines read: "2 days, 3 hours left", "overdue by 5 hours"."""

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

register = template.Library()


@register.filter
def countdown(deadline, now=None):
    """Time left before a deadline, or how late it is, or how it was met."""
    now = now or timezone.now()
    if deadline.filed_at:
        if deadline.filed_at > deadline.due_at:
            return f"filed {timesince(deadline.due_at, deadline.filed_at)} late"
        return "filed on time"
    if deadline.due_at >= now:
        return f"{timeuntil(deadline.due_at, now)} left"
    return f"overdue by {timesince(deadline.due_at, now)}"
