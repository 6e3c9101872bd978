"""Signing in and the personal "my postmortems" page."""

from axes.utils import reset as reset_login_failures
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, Subquery
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from incidents.models import ActionItem, DigestSubscription, Incident, IncidentRevision, Review
from incidents.permissions import can_review, is_signed_in, requires
from incidents.services.digest import digest_subscribe


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's own, and whoever could read the account's email may sign in again at once: the
    new password lifts a lockout from earlier wrong guesses."""

    def form_valid(self, form):
        response = super().form_valid(form)
        reset_login_failures(username=form.user.get_username())
        return response


def _latest(queryset, field):
    return Subquery(queryset.order_by("-pk").values(field)[:1])


@requires(is_signed_in)
@require_GET
def my_postmortems(request):
    user = request.user
    reviews = Review.objects.filter(revision__incident=OuterRef("pk"))
    drafted = (
        Incident.objects.filter(
            Exists(IncidentRevision.objects.filter(incident=OuterRef("pk"), author=user))
        )
        .with_newest_revision()
        .annotate(
            last_decision=_latest(reviews, "decision"),
            last_comment=_latest(reviews, "comment"),
            last_reviewer=_latest(reviews, "reviewer__username"),
        )
        .order_by("-updated_at")
    )

    to_review = Incident.objects.none()
    if can_review(user):
        to_review = Incident.objects.awaiting_review_by(user).order_by("review_requested_at")

    today = timezone.localdate()
    action_items = (
        ActionItem.objects.filter(assignee=user, status=ActionItem.Status.OPEN)
        .select_related("incident")
        .annotate(is_overdue=ExpressionWrapper(Q(due_on__lt=today), output_field=BooleanField()))
        .order_by(F("due_on").asc(nulls_last=True), "pk")
    )
    return render(
        request,
        "incidents/my_postmortems.html",
        {
            "drafted": drafted,
            "to_review": to_review,
            "action_items": action_items,
            "digest_subscribed": DigestSubscription.objects.filter(user=user).exists(),
        },
    )


@requires(is_signed_in)
@require_POST
def digest_subscription(request):
    subscribed = request.POST.get("subscribed") == "1"
    digest_subscribe(user=request.user, subscribed=subscribed)
    if subscribed and not request.user.email:
        messages.warning(request, "Subscribed, but your account has no email address to send to.")
    else:
        messages.success(
            request,
            "You will get the weekly digest on Mondays."
            if subscribed
            else "You will no longer get the weekly digest.",
        )
    return redirect("my_postmortems")
