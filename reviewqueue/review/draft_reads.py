"""One draft by its key, with its decision and its claim's holder: the statement written out once per process.

The same objects as `Draft.objects.select_related("decision", "claim__holder").filter(pk=...)`: a draft
whose `decision` and `claim` raise DoesNotExist when it has none, and a claim whose `holder` is loaded.
The draft page and every decision and claim read it (review/selectors.py draft_detail, review/claims.py
after the lock), and compiling that query (three joins) cost more CPU than running it.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection

from reviewqueue.review.models import Claim, Decision, Draft


@dataclass(frozen=True)
class _Columns:
    """A model's concrete columns in the statement, and how one row's slice of them becomes an instance."""

    sql: list[str]
    attnames: list[str]
    converters: list[list[Callable]]  # per column: the backend's and the field's from-database converters
    expressions: list
    pk_index: int  # where the primary key is: None there means a LEFT JOIN found no row

    def instance_or_none(self, model, values: tuple):
        return self.instance(model, values) if values[self.pk_index] is not None else None

    def instance(self, model, values: tuple):
        converted = []
        for value, converters, expression in zip(values, self.converters, self.expressions, strict=True):
            for converter in converters:
                value = converter(value, expression, connection)
            converted.append(value)
        return model.from_db(connection.alias, self.attnames, converted)


def _columns(model, alias: str) -> _Columns:
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    expressions = [field.get_col(alias) for field in fields]
    return _Columns(
        sql=[f"{alias}.{quote(field.column)}" for field in fields],
        attnames=[field.attname for field in fields],
        converters=[connection.ops.get_db_converters(e) + e.get_db_converters(connection) for e in expressions],
        expressions=expressions,
        pk_index=[field.primary_key for field in fields].index(True),
    )


@dataclass(frozen=True)
class _Statement:
    sql: str
    draft: _Columns
    decision: _Columns
    claim: _Columns
    holder: _Columns


@functools.cache
def _statement() -> _Statement:
    quote = connection.ops.quote_name
    user_model = get_user_model()
    draft, decision, claim, holder = (
        _columns(Draft, "d"),
        _columns(Decision, "dc"),
        _columns(Claim, "c"),
        _columns(user_model, "u"),
    )
    columns = ", ".join(draft.sql + decision.sql + claim.sql + holder.sql)
    pk = quote(Draft._meta.pk.column)
    sql = (
        f"SELECT {columns} FROM {quote(Draft._meta.db_table)} d"  # noqa: S608 (the models' own names)
        f" LEFT JOIN {quote(Decision._meta.db_table)} dc ON dc.{quote(Decision.draft.field.column)} = d.{pk}"
        f" LEFT JOIN {quote(Claim._meta.db_table)} c ON c.{quote(Claim.draft.field.column)} = d.{pk}"
        f" LEFT JOIN {quote(user_model._meta.db_table)} u"
        f" ON u.{quote(user_model._meta.pk.column)} = c.{quote(Claim.holder.field.column)}"
        f" WHERE d.{pk} = %s"
    )
    return _Statement(sql=sql, draft=draft, decision=decision, claim=claim, holder=holder)


def draft_with_decision_and_claim(draft_id: int) -> Draft | None:
    """The draft with `decision` and `claim` (and the claim's `holder`) loaded; None when there is no such draft."""
    statement = _statement()
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [draft_id])
        row = cursor.fetchone()
    if row is None:
        return None
    ends = _ends(statement)
    draft = statement.draft.instance(Draft, row[: ends[0]])
    decision_values, claim_values, holder_values = row[ends[0] : ends[1]], row[ends[1] : ends[2]], row[ends[2] :]
    decision = statement.decision.instance_or_none(Decision, decision_values)
    Draft.decision.related.set_cached_value(draft, decision)
    if decision is not None:
        Decision.draft.field.set_cached_value(decision, draft)
    claim = statement.claim.instance_or_none(Claim, claim_values)
    Draft.claim.related.set_cached_value(draft, claim)
    if claim is not None:
        Claim.draft.field.set_cached_value(claim, draft)
        Claim.holder.field.set_cached_value(claim, statement.holder.instance(get_user_model(), holder_values))
    return draft


def _ends(statement: _Statement) -> tuple[int, int, int]:
    first = len(statement.draft.sql)
    second = first + len(statement.decision.sql)
    return first, second, second + len(statement.claim.sql)
