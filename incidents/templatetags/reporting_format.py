"""How reporting deadlines read: "2 days 3 hours left", "overdue by 5 hours"."""

from django import template
from django.utils import timezone

register = template.Library()


def _span(seconds):
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if not days and (minutes or not parts):
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts[:2])


@register.filter
def countdown(deadline, now=None):
    """Time left before a deadline, or how late it is, or how it was met."""
    now = now or timezone.now()
    if deadline.filed_at:
        late = (deadline.filed_at - deadline.due_at).total_seconds()
        return f"filed {_span(late)} late" if late > 0 else "filed on time"
    left = (deadline.due_at - now).total_seconds()
    return f"{_span(left)} left" if left >= 0 else f"overdue by {_span(-left)}"
