"""The digest setting (posted from the profile page) and, locally, the page of caught mail."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from reviewqueue.accounts.http import request_origin
from reviewqueue.digests.mailcatcher import caught_mail
from reviewqueue.digests.selectors import preference_form
from reviewqueue.digests.services import digest_preference_set


@login_required
@require_POST
def digest_preference(request):
    form = preference_form(request.user, request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"Digest not saved: {field}: {' '.join(errors)}")
        return redirect("profile")
    data = form.cleaned_data
    digest_preference_set(
        user=request.user,
        frequency=data["frequency"],
        send_at=data["send_at"],
        tz_name=data["timezone"],
        mailbox_ids=data["mailbox_ids"],
        origin=request_origin(request),
    )
    if data["frequency"] == "off":
        messages.success(request, "Email digest turned off.")
    else:
        messages.success(request, f"Email digest: {data['frequency']} at {data['send_at']:%H:%M} {data['timezone']}.")
    return redirect("profile")


@login_required
@require_GET
def caught_mail_view(request):
    """Mail `make run` caught instead of sending (EMAIL_URL=file://…); only while DEBUG is on."""
    if not (settings.DEBUG and settings.MAIL_CATCHER_DIR):
        raise Http404("mail is not caught here")
    return render(
        request, "digests/caught_mail.html", {"messages_caught": caught_mail(), "directory": settings.MAIL_CATCHER_DIR}
    )
