from rest_framework.permissions import BasePermission

from incidents.services import review as review_service


class IsReporter(BasePermission):
    """Signed in (by token or session) and allowed to file postmortems."""

    message = "Only reporters can file or edit postmortems; sign in with a reporter's token."

    def has_permission(self, request, view):
        return request.user.is_authenticated and request.user.has_perm(review_service.FILE)
