"""A reporter's API token, for filing postmortems from tools (see /api/v1/docs/)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from incidents.permissions import can_file, requires


@requires(can_file)
@require_http_methods(["GET", "POST"])
def api_token(request):
    """The key is shown once, right after it is made; replacing it stops the old one."""
    new_key, status = None, 200
    action = request.POST.get("action")
    if action in ("create", "revoke"):
        Token.objects.filter(user=request.user).delete()
        if action == "revoke":
            messages.success(request, "Your API token was revoked; tools using it are refused.")
            return redirect("api_token")
        new_key = Token.objects.create(user=request.user).key
    elif request.method == "POST":
        messages.error(request, "Choose to create, replace or revoke your token.")
        status = 400
    token = Token.objects.filter(user=request.user).first()
    context = {"token": token, "new_key": new_key}
    response = render(request, "incidents/api_token.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response
