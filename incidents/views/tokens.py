"""A reporter's API token, for filing postmortems from tools (see /api/v1/docs/)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from incidents.api.authentication import issue_token, revoke_tokens, token_of
from incidents.permissions import can_file, requires


@requires(can_file)
@require_http_methods(["GET", "POST"])
def api_token(request):
    """The key is shown once, right after it is made; replacing it stops the old one."""
    new_key, status = None, 200
    action = request.POST.get("action")
    if action == "revoke":
        revoke_tokens(user=request.user)
        messages.success(request, "Your API token was revoked; tools using it are refused.")
        return redirect("api_token")
    if action == "create":
        new_key = issue_token(user=request.user)
    elif request.method == "POST":
        messages.error(request, "Choose to create, replace or revoke your token.")
        status = 400
    context = {"token": token_of(request.user), "new_key": new_key}
    response = render(request, "incidents/api_token.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response
