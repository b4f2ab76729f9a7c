"""The admins' callback page for an intake token: its URL and secret, and its delivery log with
"redeliver". Admins only; each view checks its form, then calls one service."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from reviewqueue import outbound
from reviewqueue.accounts.decorators import role_required
from reviewqueue.accounts.http import request_origin
from reviewqueue.audit.services import Actor
from reviewqueue.callbacks import selectors, services
from reviewqueue.callbacks.forms import CallbackURLForm
from reviewqueue.callbacks.models import CallbackDelivery, CallbackEndpoint
from reviewqueue.routing.models import IntakeToken

admin_only = role_required("admin")


def _who(request) -> dict:
    return {"actor": Actor.person(request.user), "origin": request_origin(request)}


def _page(request, token: IntakeToken, form: CallbackURLForm, *, new_secret: str = "", status: int = 200):
    shown = request.GET.get("status", "")
    if shown not in CallbackDelivery.Status.values:
        shown = ""
    view = selectors.token_callbacks(token, status=shown)
    context = {
        "view": view,
        "form": form,
        "new_secret": new_secret,
        "shown_status": shown,
        "statuses": [(value, label, view.counts[value]) for value, label in CallbackDelivery.Status.choices],
        "log_length": selectors.LOG_LENGTH,
    }
    return render(request, "callbacks/token.html", context, status=status)


@admin_only
@require_http_methods(["GET", "POST"])
def token_callback(request, token_pk: int):
    token = get_object_or_404(IntakeToken, pk=token_pk)
    endpoint = CallbackEndpoint.objects.filter(token=token).first()
    if request.method == "GET":
        return _page(request, token, CallbackURLForm(initial={"url": endpoint.url if endpoint else ""}))
    form = CallbackURLForm(request.POST)
    if not form.is_valid():
        return _page(request, token, form, status=400)
    try:
        _, secret = services.endpoint_set(token=token, url=form.cleaned_data["url"], **_who(request))
    except outbound.OutboundURLRefused as error:  # e.g. the URL grew past the limit after the form's check
        form.add_error("url", str(error))
        return _page(request, token, form, status=400)
    if secret is None:
        messages.success(request, f"Callback URL of {token.name} changed; the secret stays the same.")
        return redirect("callbacks:token", token_pk=token.pk)
    return _page(request, token, CallbackURLForm(initial={"url": form.cleaned_data["url"]}), new_secret=secret)


@admin_only
@require_POST
def token_secret_rotate(request, token_pk: int):
    endpoint = get_object_or_404(CallbackEndpoint, token_id=token_pk)
    secret = services.secret_rotate(endpoint=endpoint, **_who(request))
    return _page(request, endpoint.token, CallbackURLForm(initial={"url": endpoint.url}), new_secret=secret)


@admin_only
@require_POST
def token_callback_remove(request, token_pk: int):
    endpoint = get_object_or_404(CallbackEndpoint, token_id=token_pk)
    services.endpoint_remove(endpoint=endpoint, **_who(request))
    messages.success(request, f"{endpoint.token.name} has no callback any more; its delivery log stays.")
    return redirect("callbacks:token", token_pk=token_pk)


@admin_only
@require_POST
def delivery_redeliver(request, pk: int):
    delivery = get_object_or_404(CallbackDelivery.objects.select_related("token"), pk=pk)
    if services.delivery_redeliver(delivery=delivery, **_who(request)):
        messages.success(
            request, f"{delivery.event} for draft {delivery.draft_id} queued again ({delivery.webhook_id})."
        )
    else:
        messages.error(
            request, f"{delivery.event} for draft {delivery.draft_id} is still being tried; nothing changed."
        )
    return redirect("callbacks:token", token_pk=delivery.token_id)
