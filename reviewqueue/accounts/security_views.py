"""Admins' view of a person's sign-in security: their active sessions (ended here) and two-factor reset."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from reviewqueue.accounts.decorators import role_required
from reviewqueue.accounts.http import request_origin
from reviewqueue.accounts.mfa import ResetRefused, two_factor_reset
from reviewqueue.accounts.models import UserSession
from reviewqueue.accounts.sessions import session_end, sessions_active, sessions_end_all
from reviewqueue.audit.services import Actor

User = get_user_model()


@role_required("admin")
@never_cache
def person_sessions(request, pk: int):
    person = get_object_or_404(User, pk=pk)
    sessions = sessions_active(person, current_key=request.session.session_key)
    return render(request, "accounts/person_sessions.html", {"person": person, "sessions": sessions})


@role_required("admin")
@require_POST
def person_session_end(request, pk: int, session_pk: int):
    record = get_object_or_404(UserSession.objects.select_related("user"), pk=session_pk, user_id=pk)
    if record.session_key == request.session.session_key:
        messages.error(request, "That is this session: sign out instead.")
        return redirect("person_sessions", pk=pk)
    session_end(record=record, actor=Actor.person(request.user), origin=request_origin(request))
    messages.success(request, f"Session of {record.user.get_username()} ended.")
    return redirect("person_sessions", pk=pk)


@role_required("admin")
@require_POST
def person_sessions_end_all(request, pk: int):
    person = get_object_or_404(User, pk=pk)
    if person == request.user:
        messages.error(request, "Your own sessions end when you sign out.")
        return redirect("person_sessions", pk=pk)
    count = sessions_end_all(user=person, actor=Actor.person(request.user), origin=request_origin(request))
    messages.success(request, f"{count} session{'s' if count != 1 else ''} of {person.get_username()} ended.")
    return redirect("person_sessions", pk=pk)


@role_required("admin")
@require_POST
def person_two_factor_reset(request, pk: int):
    person = get_object_or_404(User, pk=pk)
    try:
        reset = two_factor_reset(user=person, actor_user=request.user, origin=request_origin(request))
    except ResetRefused as refusal:
        messages.error(request, f"{str(refusal).capitalize()}.")
        return redirect("routing:person", pk=pk)
    if reset:
        messages.success(request, f"Two-factor of {person.get_username()} reset: they enrol again at next sign-in.")
    else:
        messages.info(request, f"{person.get_username()} had no two-factor to reset.")
    return redirect("routing:person", pk=pk)
