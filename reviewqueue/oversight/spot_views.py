"""The spot-check queue (reviewers): one sampled send at a time, "would approve" (a) or "would reject" (r)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from reviewqueue.accounts.decorators import role_required
from reviewqueue.accounts.http import request_origin
from reviewqueue.integrations.multimail.errors import MultiMailError
from reviewqueue.oversight.models import MonitoredSend
from reviewqueue.oversight.spot_checks import SpotCheckTaken, spot_check_record, spot_checks_evaluate
from reviewqueue.review.reasons import PRESET_REJECT_REASONS
from reviewqueue.review.rendering import render_markdown


@role_required("reviewer")
@require_GET
def spot_queue(request):
    waiting = MonitoredSend.objects.filter(sampled=True, verdict="").order_by("seen_at", "id")
    send = waiting.first()
    context = {
        "send": send,
        "waiting": waiting.count(),
        "body_html": render_markdown(send.markdown) if send else "",
        "reasons": PRESET_REJECT_REASONS,
    }
    return render(request, "oversight/spot_checks.html", context)


@role_required("reviewer")
@require_POST
def spot_check_decide(request, send_id: int):
    verdict = request.POST.get("verdict", "")
    reason = (request.POST.get("reason_text") or request.POST.get("reason_preset") or "").strip()[:2000]
    try:
        send = spot_check_record(user=request.user, send_id=send_id, verdict=verdict, reason=reason,
                                 origin=request_origin(request))  # fmt: skip
    except ValueError as invalid:
        messages.error(request, f"Not recorded: {invalid}.")
        return redirect("spot_checks:queue")
    except SpotCheckTaken as taken:
        messages.info(request, f"Not recorded: {taken}.")
        return redirect("spot_checks:queue")
    if verdict == MonitoredSend.Verdict.WOULD_REJECT:
        try:
            if spot_checks_evaluate(send.mailbox_id) is not None:
                messages.warning(request, f"{send.mailbox_id} was tightened back to gated_send: its spot checks "
                                 "crossed the threshold.")  # fmt: skip
        except MultiMailError:
            messages.warning(request, "Recorded; tightening the mailbox failed for now and the next sweep retries.")
    return redirect("spot_checks:queue")
