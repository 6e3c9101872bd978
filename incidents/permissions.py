"""Who may do what: one predicate per capability, the permissions behind them, the decorator
that guards views with them and the `can` that templates read them from.

One rule decides between sending someone to sign in, 403 and 404, on every page:

- An anonymous visitor to a signed-in page is sent to the sign-in page, and comes back after
  signing in. (The API has no sign-in page: it answers 401 instead.)
- A signed-in person without the capability a page needs gets 403 Forbidden. The capability is
  checked before any record is looked up, so a 403 says nothing about whether a record exists.
- A record the reader may not see (a draft, an internal incident, a pattern none of whose
  incidents they may read) is 404 Not Found for them, never 403, so its existence does not
  leak. Every capability below includes reading internal records, so this only decides pages
  that anyone may open (an incident's page, the patterns).

Services check the same predicates whoever calls them (a page, the API, the admin, a command)
and refuse with PermissionDenied, which is 403 too. The groups that hand out these permissions
(reporter, reviewer, editor, viewer) are made in migration 0006; the admin keeps Django's own
model permissions.
"""

from functools import partial, wraps

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

FILE = "incidents.file_incident"
REVIEW = "incidents.review_incident"
RETRACT = "incidents.retract_incident"
VIEW_INTERNAL = "incidents.view_internal"


def is_signed_in(user):
    """Pages of one's own: my postmortems, the weekly digest subscription."""
    return user.is_authenticated


def can_file(user):
    """File and edit postmortems, submit them for review, import agent traces, hold an API
    token, and mark reporting obligations and the reports filed (reporters and editors)."""
    return user.is_authenticated and user.has_perm(FILE)


def can_review(user):
    """Approve and publish a postmortem, or ask for changes (reviewers and editors)."""
    return user.is_authenticated and user.has_perm(REVIEW)


def can_curate(user):
    """Look after the record as a whole: retract incidents, restore old revisions, read the
    audit log, and name, merge and split patterns (editors)."""
    return user.is_authenticated and user.has_perm(RETRACT)


def can_read_internal(user):
    """Read drafts, internal incidents, revision history, reporting obligations and the
    internal figures (viewers, and everyone with one of the capabilities above)."""
    return user.is_authenticated and (
        user.is_superuser
        or user.has_perm(VIEW_INTERNAL)
        or can_file(user)
        or can_review(user)
        or can_curate(user)
    )


# Permissions come from the model backend; the other one (django-axes) only watches sign-ins.
PERMISSION_BACKEND = "django.contrib.auth.backends.ModelBackend"


def people_who_can_review():
    """Active people who may review: through a group, their own permissions, or superusers."""
    return get_user_model().objects.with_perm(REVIEW, backend=PERMISSION_BACKEND)


def people_who_can_file():
    return get_user_model().objects.with_perm(FILE, backend=PERMISSION_BACKEND)


def requires(capability):
    """A view decorator applying the rule above: `@requires(can_file)`."""

    def decorate(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not capability(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(checked)

    return decorate


TEMPLATE_CAPABILITIES = {
    "file": can_file,
    "review": can_review,
    "curate": can_curate,
    "read_internal": can_read_internal,
}


def capabilities(request):
    """Context processor: `{% if can.file %}` and so on, for the person reading the page."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    # Templates call each one only when they read it.
    return {
        "can": {name: partial(predicate, user) for name, predicate in TEMPLATE_CAPABILITIES.items()}
    }
