"""The evidence page (auditors and admins), its CSV, the readiness policy and the upgrade flow (admins),
and "did we send this?"."""

from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reviewqueue.accounts.decorators import role_required
from reviewqueue.accounts.http import request_origin
from reviewqueue.accounts.roles import user_has_role
from reviewqueue.integrations.multimail.errors import MultiMailError
from reviewqueue.oversight import services
from reviewqueue.oversight.compliance import account_refresh, mailbox_commercial_set
from reviewqueue.oversight.csv_export import evidence_csv
from reviewqueue.oversight.forms import (
    EvidenceFilterForm,
    ReadinessPolicyForm,
    SentCheckForm,
    SpotCheckPolicyForm,
    UpgradeRedeemForm,
    UpgradeRequestForm,
    form_errors_named,
)
from reviewqueue.oversight.models import MailboxCompliance, SpotCheckPolicy
from reviewqueue.oversight.outcomes import OUTCOME_LABELS, OUTCOMES
from reviewqueue.oversight.presentation import duration_text, evidence_charts
from reviewqueue.oversight.readiness import policy_current, readiness_verdicts
from reviewqueue.oversight.selectors import Reader, evidence, known_choices, weekly_cells
from reviewqueue.oversight.sent_check import EmailUnreadable, sent_check
from reviewqueue.oversight.spot_checks import spot_summaries
from reviewqueue.oversight.upgrades import UpgradeRefused, upgrade_redeem, upgrade_request
from reviewqueue.routing.models import Mailbox


def _form_errors(form) -> str:
    return "; ".join(message for messages_ in form.errors.values() for message in messages_)


def verdict_mailboxes(selection, found: list[str]) -> list[str]:
    """The mailboxes the page gives a verdict for: the one filtered on, else every one with evidence."""
    return [selection.mailbox_id] if selection.mailbox_id else sorted(found)


@role_required("auditor", "admin")
@require_GET
def evidence_page(request):
    form = EvidenceFilterForm(request.GET)
    context = {"form": form, "outcome_labels": [OUTCOME_LABELS[o] for o in OUTCOMES]}
    if not form.is_valid():
        context["mailboxes"], context["kinds"] = known_choices()
        return render(request, "oversight/evidence.html", context, status=400)
    selection = form.selection()
    reader = Reader()
    found = evidence(selection, reader)
    mailboxes, kinds = known_choices(found)
    policy = policy_current()
    context.update(
        mailboxes=mailboxes,
        kinds=kinds,
        selection=selection,
        evidence=found,
        charts=evidence_charts(found),
        cells=[_cell_row(mailbox, kind, figures) for mailbox, kind, figures in found.by_cell],
        total=_cell_row("All selected", "", found.total),
        verdicts=readiness_verdicts(verdict_mailboxes(selection, mailboxes), policy=policy, reader=reader),
        policy=policy,
        spot_checks=spot_summaries([selection.mailbox_id] if selection.mailbox_id else None),
        is_admin=user_has_role(request.user, "admin"),
        query=request.GET.urlencode(),
    )
    return render(request, "oversight/evidence.html", context)


def _cell_row(mailbox: str, kind: str, figures) -> dict:
    return {
        "mailbox": mailbox,
        "kind": kind,
        "decisions": figures.decisions,
        "shares": [f"{figures.shares[o]:.1%}" if figures.shares[o] is not None else "—" for o in OUTCOMES],
        "p50": duration_text(figures.p50_seconds),
        "p90": duration_text(figures.p90_seconds),
        "stale": figures.stale_catches,
        "top_reason": figures.rejection_reasons[0][0] if figures.rejection_reasons else "",
    }


@role_required("auditor", "admin")
@require_GET
def evidence_export(request):
    form = EvidenceFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("Invalid filters: " + _form_errors(form), content_type="text/plain")
    found = evidence(form.selection())
    body = evidence_csv(weekly_cells(found), found.total)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="oversight-evidence.csv"'
    return response


@role_required("admin")
@require_http_methods(["GET", "POST"])
def policy_edit(request):
    policy = policy_current()
    if request.method == "POST":
        form = ReadinessPolicyForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                services.policy_update(user=request.user, changes=form.cleaned_data, origin=request_origin(request))
            messages.success(request, "Readiness policy saved.")
            return redirect("oversight_manage:policy")
    else:
        form = ReadinessPolicyForm(initial={
            "min_decisions": policy.min_decisions, "min_days": policy.min_days,
            "unedited_share": policy.unedited_share, "recent_days": policy.recent_days,
            "blocking_reasons": "\n".join(policy.blocking_reasons or []),
            "require_verified_audit": policy.require_verified_audit,
        })  # fmt: skip
    context = {"form": form, "policy": policy, "mailboxes": _commercial_rows(), "spot_policies": _spot_policy_rows()}
    return render(request, "oversight/policy.html", context, status=400 if form.errors else 200)


def _commercial_rows() -> list[dict]:
    marked = set(MailboxCompliance.objects.filter(commercial=True).values_list("mailbox_id", flat=True))
    return [
        {"mailbox_id": box.mailbox_id, "address": box.address, "commercial": box.mailbox_id in marked}
        for box in Mailbox.objects.filter(is_active=True)
    ]


def _spot_policy_rows() -> list[dict]:
    """Every active mailbox's spot-check settings as the form shows them (percentages), defaults if unset."""
    stored = {policy.mailbox_id: policy for policy in SpotCheckPolicy.objects.all()}
    rows = []
    for box in Mailbox.objects.filter(is_active=True).order_by("address"):
        policy = stored.get(box.mailbox_id)
        if policy is None:
            policy = SpotCheckPolicy(mailbox_id=box.mailbox_id)
            policy.sample_rate, policy.reject_share = (
                Decimal(str(policy.sample_rate)),
                Decimal(str(policy.reject_share)),
            )
        rows.append({"mailbox_id": box.mailbox_id, "address": box.address, "mode": box.oversight_mode,
                     "sample_percent": _percent(policy.sample_rate), "daily_minimum": policy.daily_minimum,
                     "threshold_percent": _percent(policy.reject_share), "window": policy.window})  # fmt: skip
    return rows


def _percent(share: Decimal) -> str:
    return f"{share * 100:.1f}"


@role_required("admin")
@require_POST
def spot_policy_set(request):
    """One mailbox's spot-check settings from the policy page; a bad value is a 400 naming its field."""
    form = SpotCheckPolicyForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "Invalid spot-check settings: " + form_errors_named(form), content_type="text/plain"
        )
    mailbox_id = form.cleaned_data["mailbox"]
    if not Mailbox.objects.filter(mailbox_id=mailbox_id).exists():
        return HttpResponseBadRequest(
            "Invalid spot-check settings: mailbox: unknown mailbox.", content_type="text/plain"
        )
    services.spot_policy_update(
        user=request.user, mailbox_id=mailbox_id, changes=form.changes(), origin=request_origin(request)
    )
    messages.success(request, f"Spot-check settings of {mailbox_id} saved.")
    return redirect("oversight_manage:policy")


@role_required("admin")
@require_POST
def commercial_mail_set(request):
    mailbox_id = (request.POST.get("mailbox") or "").strip()
    if not Mailbox.objects.filter(mailbox_id=mailbox_id).exists():
        return HttpResponseBadRequest("Unknown mailbox.", content_type="text/plain")
    commercial = request.POST.get("commercial") == "1"
    mailbox_commercial_set(
        user=request.user, mailbox_id=mailbox_id, commercial=commercial, origin=request_origin(request)
    )
    if commercial:
        try:
            address = account_refresh()
        except MultiMailError as error:
            messages.warning(request, f"Marked; MultiMail's account could not be read yet ({error}).")
        else:
            if not address:
                messages.warning(request, "MultiMail's account has no physical_address: every draft will be flagged.")
    messages.success(request, f"{mailbox_id} {'sends' if commercial else 'does not send'} commercial mail.")
    return redirect("oversight_manage:policy")


@role_required("auditor", "admin")
@require_http_methods(["GET", "POST"])
def sent_check_page(request):
    """Did we send this? An uploaded or pasted email, its identity claim verified and matched to decisions."""
    if request.method == "GET":
        return render(request, "oversight/sent_check.html", {"form": SentCheckForm()})
    form = SentCheckForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "oversight/sent_check.html", {"form": form}, status=400)
    try:
        check = sent_check(form.raw_email())
    except EmailUnreadable as exc:
        form.add_error(None, f"This email cannot be read: {exc}.")
        return render(request, "oversight/sent_check.html", {"form": form}, status=400)
    with transaction.atomic():
        services.sent_check_record(user=request.user, check=check, origin=request_origin(request))
    claim_fields = sorted(check.claim.claim.items())
    return render(
        request, "oversight/sent_check.html", {"form": SentCheckForm(), "check": check, "claim_fields": claim_fields}
    )


def _back_to(mailbox_id: str):
    return redirect(reverse("oversight:evidence") + "?" + urlencode({"mailbox": mailbox_id}))


@role_required("admin")
@require_POST
def upgrade_request_view(request):
    form = UpgradeRequestForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Invalid upgrade request: " + _form_errors(form), content_type="text/plain")
    data = form.cleaned_data
    try:
        upgrade_request(user=request.user, mailbox_id=data["mailbox"], target_mode=data["target_mode"],
                        justification=data["justification"], origin=request_origin(request))  # fmt: skip
    except UpgradeRefused as refused:
        messages.error(request, f"Not asked: {refused}")
    else:
        messages.success(request, f"MultiMail has emailed the operator a one-time code to move {data['mailbox']} "
                         f"to {data['target_mode']}. Enter it below.")  # fmt: skip
    return _back_to(data["mailbox"])


@role_required("admin")
@require_POST
def upgrade_redeem_view(request):
    form = UpgradeRedeemForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Invalid code: " + _form_errors(form), content_type="text/plain")
    data = form.cleaned_data
    try:
        mode = upgrade_redeem(user=request.user, mailbox_id=data["mailbox"], code=data["code"],
                              origin=request_origin(request))  # fmt: skip
    except UpgradeRefused as refused:
        messages.error(request, f"Not upgraded: {refused}")
    else:
        messages.success(request, f"{data['mailbox']} is now {mode}. Spot checks watch what it sends.")
    return _back_to(data["mailbox"])
