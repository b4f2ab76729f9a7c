"""The admin pages under /manage/: mailboxes, routing rules, people and tokens, intake tokens, health.

Every view is for admins only (anonymous → login, anyone else → 403); each checks access, validates
its form, then calls one service.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from reviewqueue.accounts import services as accounts
from reviewqueue.accounts.decorators import role_required
from reviewqueue.accounts.http import request_origin
from reviewqueue.accounts.models import ApiToken, ApiTokenPolicy
from reviewqueue.accounts.roles import ROLES, user_roles
from reviewqueue.accounts.selectors import api_tokens_listed
from reviewqueue.audit.services import Actor
from reviewqueue.routing import editor, services, status
from reviewqueue.routing.forms import (
    IntakeTokenForm,
    MailboxOversightForm,
    MailboxProvisionForm,
    MailboxRenameForm,
    PersonCreateForm,
    RoleChangeForm,
    TokenPolicyForm,
)
from reviewqueue.routing.models import (
    OVERSIGHT_ORDER,
    IntakeToken,
    Mailbox,
    OversightMode,
    RoutingRuleSet,
    sent_without_review,
)
from reviewqueue.routing.selectors import ruleset_active

User = get_user_model()
admin_only = role_required("admin")


def _who(request) -> dict:
    return {"actor": Actor.person(request.user), "origin": request_origin(request)}


def _multimail_failed(request, error) -> None:
    messages.error(request, f"MultiMail did not accept that: {error}")


@admin_only
@require_GET
def home(request):
    return render(
        request,
        "routing/home.html",
        {
            "mailbox_count": Mailbox.objects.filter(is_active=True).count(),
            "ruleset": ruleset_active(),
            "people_count": User.objects.filter(is_active=True).count(),
            "intake_token_count": IntakeToken.objects.filter(revoked_at__isnull=True).count(),
        },
    )


# --- mailboxes -----------------------------------------------------------------------------------


@admin_only
@require_GET
def mailboxes(request):
    return render(
        request,
        "routing/mailboxes.html",
        {
            "mailboxes": Mailbox.objects.all(),
            "admin_key_missing": status.multimail_missing_variable("admin"),
            "read_key_missing": status.multimail_missing_variable("read"),
            "modes": OversightMode.choices,
        },
    )


@admin_only
@require_POST
def mailboxes_sync(request):
    from reviewqueue.integrations.multimail.client import MultiMailError

    try:
        result = services.mailboxes_sync(**_who(request))
    except MultiMailError as error:
        _multimail_failed(request, error)
    else:
        messages.success(
            request,
            f"In sync with MultiMail: {result.created} new, {result.updated} changed, {result.deactivated} gone.",
        )
    return redirect("routing:mailboxes")


@admin_only
@require_http_methods(["GET", "POST"])
def mailbox_new(request):
    from reviewqueue.integrations.multimail.client import (
        MultiMailConflict,
        MultiMailError,
        MultiMailForbidden,
    )

    form = MailboxProvisionForm(request.POST or None)
    awaiting_code = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.mailbox_provision(
                address_local=data["address_local"],
                display_name=data["display_name"],
                approval_code=data["approval_code"] or None,
                **_who(request),
            )
        except MultiMailConflict:
            form.add_error("address_local", "this address is already taken at MultiMail: choose another")
        except MultiMailForbidden as error:
            form.add_error(
                None,
                f"MultiMail refused: your plan's mailbox limit is reached, or the admin key lacks "
                f"the admin scope ({error.message})",
            )
        except MultiMailError as error:
            form.add_error(None, f"MultiMail did not accept that: {error}")
        else:
            if result.awaiting_approval_code:
                awaiting_code = True
                messages.info(request, result.message)
            else:
                messages.success(request, f"Mailbox {result.mailbox.address} created (gated_send).")
                return redirect("routing:mailbox", pk=result.mailbox.pk)
    return render(
        request,
        "routing/mailbox_new.html",
        {
            "form": form,
            "awaiting_code": awaiting_code,
            "admin_key_missing": status.multimail_missing_variable("admin"),
        },
        status=200 if request.method == "GET" or form.is_valid() else 400,
    )


@admin_only
@require_GET
def mailbox_detail(request, pk: int):
    mailbox = get_object_or_404(Mailbox, pk=pk)
    return render(request, "routing/mailbox.html", _mailbox_context(mailbox))


def _mailbox_context(mailbox, **extra) -> dict:
    rank = OVERSIGHT_ORDER.index(mailbox.oversight_mode) if mailbox.oversight_mode in OVERSIGHT_ORDER else 99
    return {
        "mailbox": mailbox,
        "stricter_modes": [(v, label) for v, label in OversightMode.choices if OVERSIGHT_ORDER.index(v) < rank],
        "modes": OversightMode.choices,
        "webhook_url": services.webhook_url_default() or "",
        "rename_form": MailboxRenameForm(initial={"display_name": mailbox.display_name}),
        "admin_key_missing": status.multimail_missing_variable("admin"),
        **extra,
    }


@admin_only
@require_POST
def mailbox_rename(request, pk: int):
    from reviewqueue.integrations.multimail.client import MultiMailError

    mailbox = get_object_or_404(Mailbox, pk=pk)
    form = MailboxRenameForm(request.POST)
    if not form.is_valid():
        return render(request, "routing/mailbox.html", _mailbox_context(mailbox, rename_form=form), status=400)
    try:
        services.mailbox_rename(mailbox=mailbox, display_name=form.cleaned_data["display_name"], **_who(request))
    except MultiMailError as error:
        _multimail_failed(request, error)
    else:
        messages.success(request, "Renamed.")
    return redirect("routing:mailbox", pk=pk)


@admin_only
@require_POST
def mailbox_oversight(request, pk: int):
    from reviewqueue.integrations.multimail.client import MultiMailError

    mailbox = get_object_or_404(Mailbox, pk=pk)
    form = MailboxOversightForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of MultiMail's oversight modes.")
        return redirect("routing:mailbox", pk=pk)
    try:
        services.mailbox_oversight_tighten(
            mailbox=mailbox, oversight_mode=form.cleaned_data["oversight_mode"], **_who(request)
        )
    except services.OversightLooseningRefused as error:
        messages.error(request, str(error))
        return render(request, "routing/mailbox.html", _mailbox_context(mailbox), status=400)
    except MultiMailError as error:
        _multimail_failed(request, error)
    else:
        messages.success(request, f"Oversight is now {mailbox.oversight_mode}.")
    return redirect("routing:mailbox", pk=pk)


@admin_only
@require_POST
def mailbox_webhook(request, pk: int):
    from reviewqueue.integrations.multimail.client import MultiMailError

    mailbox = get_object_or_404(Mailbox, pk=pk)
    url = request.POST.get("url", "").strip() or services.webhook_url_default() or ""
    try:
        services.mailbox_webhook_subscribe(mailbox=mailbox, url=url, **_who(request))
    except services.WebhookUrlRefused as error:
        messages.error(request, f"Not subscribed: {error}.")
    except MultiMailError as error:
        _multimail_failed(request, error)
    else:
        messages.success(request, "Subscribed; the signing secret is stored encrypted.")
    return redirect("routing:mailbox", pk=pk)


# --- routing rules -------------------------------------------------------------------------------


@admin_only
@require_http_methods(["GET", "POST"])
def routing_rules(request):
    current = ruleset_active()
    active = Mailbox.objects.filter(is_active=True)
    modes = dict(active.values_list("mailbox_id", "oversight_mode"))
    if request.method == "GET":
        draft = editor.EditorState.from_ruleset(current)
        context = {"state": draft, "errors": {}, "comparison": None}
    else:
        draft = editor.EditorState.from_post(request.POST)
        operation = request.POST.get("op", "")
        draft = draft.apply(operation)
        errors = draft.errors(modes) if operation in ("dry_run", "save") else {}
        comparison = None
        if operation == "dry_run" and not errors:
            comparison = editor.dry_run(draft.ruleset(), current)
        if operation == "save" and not errors:
            try:
                saved = services.ruleset_save(
                    rules=list(draft.ruleset().rules),
                    default_mailbox_id=draft.default_mailbox_id,
                    note=draft.note,
                    confirm_unreviewed=draft.confirm_unreviewed,
                    user=request.user,
                    **_who(request),
                )
            except services.UnreviewedRouteNotConfirmed as refused:  # a mailbox loosened since the page loaded
                errors["confirm_unreviewed"] = str(refused)
            else:
                messages.success(request, f"Saved as version {saved.version}; new intake drafts route by it now.")
                if request.htmx:
                    return HttpResponseClientRedirect(reverse("routing:rules"))
                return redirect("routing:rules")
        context = {"state": draft, "errors": errors, "comparison": comparison}
    context.update(
        {
            "current": current,
            "mailbox_choices": [(box.mailbox_id, _mailbox_label(box)) for box in active],
            "unreviewed": {m: modes[m] for m in context["state"].unreviewed_mailboxes(modes)},
            "versions": RoutingRuleSet.objects.all()[:20],
            "criteria": editor.CRITERIA_LABELS,
            "rows": [
                {**row, "index": i, "error": context["errors"].get(f"row-{i}", "")}
                for i, row in enumerate(context["state"].rows)
            ],
        }
    )
    template = "routing/rules.html#editor" if request.htmx else "routing/rules.html"
    # htmx does not swap a 4xx answer in, so the editor with its errors comes back as a 200 there.
    refused = bool(context["errors"]) and not request.htmx
    return render(request, template, context, status=400 if refused else 200)


def _mailbox_label(mailbox: Mailbox) -> str:
    if sent_without_review(mailbox.oversight_mode):
        return f"{mailbox.address} ({mailbox.oversight_mode or 'mode unknown'}: sent without review)"
    return mailbox.address


@admin_only
@require_GET
def routing_version(request, version: int):
    ruleset = get_object_or_404(RoutingRuleSet, version=version)
    return render(request, "routing/version.html", {"ruleset": ruleset, "criteria": editor.CRITERIA_LABELS})


# --- people and their tokens ---------------------------------------------------------------------


@admin_only
@require_http_methods(["GET", "POST"])
def people(request):
    form = PersonCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user, _ = accounts.user_ensure(
            username=data["username"], email=data["email"], password=data["password"] or None, **_who(request)
        )
        for role in data["roles"]:
            accounts.role_grant(user=user, role=role, **_who(request))
        messages.success(request, f"{user.get_username()} created.")
        return redirect("routing:person", pk=user.pk)
    status_code = 400 if request.method == "POST" else 200
    return render(request, "routing/people.html", _people_context(form=form), status=status_code)


def _people_context(**forms) -> dict:
    everyone = User.objects.order_by("username").prefetch_related("groups")
    return {
        "form": PersonCreateForm(),
        "policy_form": TokenPolicyForm(initial={"max_days": ApiTokenPolicy.current().max_days}),
        "rows": [{"user": u, "roles": user_roles(u) if u.is_active else []} for u in everyone],
        **forms,
    }


@admin_only
@require_POST
def token_policy(request):
    form = TokenPolicyForm(request.POST)
    if not form.is_valid():
        return render(request, "routing/people.html", _people_context(policy_form=form), status=400)
    accounts.api_token_policy_set(max_days=form.cleaned_data["max_days"], **_who(request))
    messages.success(request, f"Personal tokens now last at most {form.cleaned_data['max_days']} days.")
    return redirect("routing:people")


@admin_only
@require_GET
def person(request, pk: int):
    return render(request, "routing/person.html", _person_context(get_object_or_404(User, pk=pk)))


def _person_context(user, **extra) -> dict:
    # Tokens are listed and revoked here, never issued: a person's token is theirs alone (accounts:profile).
    held = {group.name for group in user.groups.all()}
    return {
        "person": user,
        "roles": [{"name": role, "held": role in held} for role in ROLES],
        "tokens": api_tokens_listed(user),
        **extra,
    }


@admin_only
@require_POST
def person_role(request, pk: int):
    user = get_object_or_404(User, pk=pk)
    form = RoleChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role and whether to grant or revoke it.")
        return redirect("routing:person", pk=pk)
    role, grant = form.cleaned_data["role"], form.cleaned_data["grant"]
    if not grant and role == "admin" and user == request.user:
        messages.error(request, "You cannot take the admin role from yourself; ask another admin.")
        return redirect("routing:person", pk=pk)
    change = accounts.role_grant if grant else accounts.role_revoke
    changed = change(user=user, role=role, **_who(request))
    verb = "granted" if grant else "revoked"
    messages.success(request, f"Role {role} {verb}." if changed else f"Nothing to do: role {role} already {verb}.")
    return redirect("routing:person", pk=pk)


@admin_only
@require_POST
def person_active(request, pk: int):
    user = get_object_or_404(User, pk=pk)
    activate = request.POST.get("active") == "1"
    if not activate and user == request.user:
        messages.error(request, "You cannot deactivate yourself.")
        return redirect("routing:person", pk=pk)
    if activate:
        accounts.user_reactivate(user=user, **_who(request))
        messages.success(request, f"{user.get_username()} can log in again.")
    else:
        accounts.user_deactivate(user=user, **_who(request))
        messages.success(request, f"{user.get_username()} is deactivated: no login, no API tokens.")
    return redirect("routing:person", pk=pk)


@admin_only
@require_POST
def person_token_revoke(request, pk: int, token_pk: int):
    token = get_object_or_404(ApiToken, pk=token_pk, user_id=pk)
    accounts.api_token_revoke(token=token, **_who(request))
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("routing:person", pk=pk)


# --- intake tokens -------------------------------------------------------------------------------


@admin_only
@require_http_methods(["GET", "POST"])
def intake_tokens(request):
    form = IntakeTokenForm(request.POST or None)
    context = {
        "form": form,
        "tokens": IntakeToken.objects.all(),
        "intake_url": request.build_absolute_uri("/api/v1/drafts"),
    }
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "routing/intake_tokens.html", context, status=400)
        data = form.cleaned_data
        token, raw = services.intake_token_issue(
            name=data["name"], kinds=data["kinds"], user=request.user, **_who(request)
        )
        context.update({"new_token": raw, "new_token_obj": token, "form": IntakeTokenForm()})
    return render(request, "routing/intake_tokens.html", context)


@admin_only
@require_POST
def intake_token_revoke(request, pk: int):
    token = get_object_or_404(IntakeToken, pk=pk)
    services.intake_token_revoke(token=token, **_who(request))
    messages.success(request, f"Intake token {token.name} revoked: agents using it now get 401.")
    return redirect("routing:intake_tokens")


# --- health --------------------------------------------------------------------------------------


@admin_only
@require_GET
def health(request):
    return render(request, "routing/health.html", {"report": status.health_report()})


@admin_only
@require_POST
def outbox_retry(request, pk: int):
    from reviewqueue.review.models import OutboxItem
    from reviewqueue.review.outbox_admin import outbox_retry as retry

    item = retry(item=get_object_or_404(OutboxItem, pk=pk), actor=Actor.person(request.user))
    if item.status == OutboxItem.Status.FAILED:
        messages.error(request, f"Outbox item {pk} could not be queued again.")
    else:
        messages.success(request, f"Outbox item {pk} queued again ({item.status}).")
    return redirect(reverse("routing:health"))
