"""Reads for the admins' callback page: a token's endpoint and its delivery log."""

from dataclasses import dataclass

from django.db.models import Count

from reviewqueue.callbacks.models import CallbackDelivery, CallbackEndpoint
from reviewqueue.routing.models import IntakeToken

LOG_LENGTH = 200


@dataclass(frozen=True)
class TokenCallbacks:
    token: IntakeToken
    endpoint: CallbackEndpoint | None
    deliveries: list[CallbackDelivery]
    counts: dict[str, int]  # by status, over the token's whole log
    total: int


def token_callbacks(token: IntakeToken, *, status: str = "") -> TokenCallbacks:
    endpoint = CallbackEndpoint.objects.filter(token=token).first()
    log = CallbackDelivery.objects.filter(token=token).select_related("draft")
    counts = dict(log.order_by().values_list("status").annotate(n=Count("pk")))
    if status:
        log = log.filter(status=status)
    return TokenCallbacks(
        token=token,
        endpoint=endpoint,
        deliveries=list(log[:LOG_LENGTH]),
        counts={value: counts.get(value, 0) for value in CallbackDelivery.Status.values},
        total=sum(counts.values()),
    )
