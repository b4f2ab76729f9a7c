"""POST /manage/people/<pk>/intercom: an admin maps the person's Intercom teammate (admin id), from their page."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from reviewqueue.accounts.decorators import role_required
from reviewqueue.accounts.http import request_origin
from reviewqueue.audit.services import Actor
from reviewqueue.inbox.services import TeammateMappingRefused, intercom_teammate_set


@role_required("admin")
@require_POST
def person_intercom_teammate(request, pk: int):
    person = get_object_or_404(get_user_model(), pk=pk)
    admin_id = request.POST.get("admin_id", "")
    try:
        changed = intercom_teammate_set(
            person=person, admin_id=admin_id, actor=Actor.person(request.user), origin=request_origin(request)
        )
    except TeammateMappingRefused as refused:
        messages.error(request, f"Not mapped: {refused}.")
        return redirect("routing:person", pk=pk)
    if not changed:
        messages.info(request, "Nothing to do: that is already their Intercom teammate.")
    elif admin_id.strip():
        messages.success(request, f"Intercom admin {admin_id.strip()} is now {person.get_username()} in the Inbox app.")
    else:
        messages.success(request, f"{person.get_username()} is matched by email again in the Inbox app.")
    return redirect("routing:person", pk=pk)
