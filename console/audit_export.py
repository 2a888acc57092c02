"""The audit log as CSV or NDJSON, streamed from a database cursor so memory stays flat at any
size; the console's export (with each event as a sentence in the reader's language) and the
API's export both write through here."""

import csv
import json
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils import translation

from console.audit import describe
from console.models import AuditEvent
from console.spreadsheet import neutralise
from console.templatetags.console_tags import target_label

FORMATS = ("csv", "ndjson")
COLUMNS = ["id", "created_at", "action", "actor_kind", "actor_email", "target_type", "target_id", "target_repr", "detail"]


def _values(event: AuditEvent, sentences: bool) -> dict:
    values = {
        "id": event.pk,
        "created_at": event.created_at.isoformat(),
        "action": event.action,
        "actor_kind": event.actor_kind,
        "actor_email": event.actor_user.email if event.actor_user is not None else None,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_repr": event.target_repr,
        "detail": event.detail,
    }
    if sentences:
        values["sentence"] = describe(event.action)
        values["concerning"] = target_label(event)
    return values


def _events(events: QuerySet, chunk_size: int) -> Iterator[AuditEvent]:
    return events.select_related("actor_user").order_by("-pk").iterator(chunk_size=chunk_size)


class _Echo:
    def write(self, value):
        return value


def lines(events: QuerySet, export_format: str, *, chunk_size: int, sentences: bool, language: str | None = None) -> Iterator[str]:
    """Every event of `events`, newest first, one line each (after a header for CSV). With
    `sentences`, each also reads as words in `language` (translated while streaming, after the
    view has returned)."""
    columns = COLUMNS + (["sentence", "concerning"] if sentences else [])
    with translation.override(language):
        if export_format == "csv":
            writer = csv.writer(_Echo())
            yield writer.writerow(columns)
            for event in _events(events, chunk_size):
                values = _values(event, sentences)
                values["detail"] = json.dumps(values["detail"], ensure_ascii=False)
                yield writer.writerow(
                    [value if name in ("id", "created_at") else neutralise(value) for name, value in
                     ((name, values[name]) for name in columns)]
                )
        else:
            for event in _events(events, chunk_size):
                yield json.dumps(_values(event, sentences), ensure_ascii=False, default=str) + "\n"
