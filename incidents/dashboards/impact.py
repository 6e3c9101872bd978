"""Did a policy change coincide with fewer incidents like the ones it answers? The rate of
matching incidents per month before its effective date against the rate after."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from incidents.dashboards.periods import DAYS_PER_MONTH
from incidents.dashboards.series import FACTOR_FACETS
from incidents.models import Incident, IncidentOrganisation, PolicyChangeIncident, Tag

WINDOW_DAYS = 365
# Below these, a difference in rates says nothing: the caveat is shown instead of a verdict.
MIN_INCIDENTS = 10
MIN_MONTHS_AFTER = 3


@dataclass
class RateComparison:
    scope: str
    before: int
    after: int
    months_before: float
    months_after: float

    @property
    def rate_before(self):
        return self.before / self.months_before if self.months_before else None

    @property
    def rate_after(self):
        return self.after / self.months_after if self.months_after else None

    @property
    def too_few(self):
        return self.before + self.after < MIN_INCIDENTS or self.months_after < MIN_MONTHS_AFTER

    @property
    def change(self):
        if self.too_few or not self.rate_before:
            return None
        return (self.rate_after - self.rate_before) / self.rate_before


def _start(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def policy_impact(*, policy, incidents, today=None):
    """[RateComparison] for the incidents involving the policy's organisation and for those
    carrying the contributing factors or failure modes of the incidents that prompted it.
    Empty when the policy has no date to compare around."""
    effective = policy.effective_on or policy.announced_on
    if effective is None:
        return []
    today = today or timezone.localdate()
    after_end = min(today, effective + timedelta(days=WINDOW_DAYS))
    before_start = effective - timedelta(days=WINDOW_DAYS)
    months_after = max(0, (after_end - effective).days) / DAYS_PER_MONTH
    months_before = WINDOW_DAYS / DAYS_PER_MONTH
    scopes = [
        (
            f"Incidents involving {policy.organisation}",
            Exists(
                IncidentOrganisation.objects.filter(
                    incident=OuterRef("pk"), organisation=policy.organisation_id
                )
            ),
        )
    ]
    # Only the prompting incidents the reader may count: a draft's factors are not public.
    prompting = PolicyChangeIncident.objects.filter(
        policy_change=policy,
        relation=PolicyChangeIncident.Relation.PROMPTED_BY,
        incident__in=incidents,
    ).values("incident")
    factors = list(
        Tag.objects.filter(facet__in=FACTOR_FACETS, incidents__in=prompting)
        .distinct()
        .order_by("name")
    )
    if factors:
        names = ", ".join(tag.name for tag in factors)
        scopes.append(
            (
                f"Incidents anywhere with the factors of those that prompted it ({names})",
                Exists(
                    Incident.tags.through.objects.filter(incident=OuterRef("pk"), tag__in=factors)
                ),
            )
        )
    comparisons = []
    for label, condition in scopes:
        matching = incidents.filter(condition)
        before = matching.filter(
            occurred_at__gte=_start(before_start), occurred_at__lt=_start(effective)
        ).count()
        after = matching.filter(
            occurred_at__gte=_start(effective), occurred_at__lt=_start(after_end)
        ).count()
        comparisons.append(RateComparison(label, before, after, months_before, months_after))
    return comparisons
