from rest_framework.permissions import BasePermission

from incidents.permissions import can_file


class IsReporter(BasePermission):
    """Signed in (by token or session) and allowed to file postmortems."""

    message = "Only reporters can file or edit postmortems; sign in with a reporter's token."

    def has_permission(self, request, view):
        return can_file(request.user)
