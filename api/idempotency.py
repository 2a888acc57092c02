"""`Idempotency-Key` on the POSTs that create things (IETF httpapi idempotency-key draft).

The first request with a key stores the key, the token and a fingerprint of the request
(method, path, JSON body) before it runs; once it succeeded, its response is stored and a
retry with the same key and body gets that response again (with `Idempotent-Replayed: true`),
so a pipeline that retries after a timeout never creates twice. The same key with another
body is a 422; a retry while the first is still running is a 409. A request that failed
releases its key (nothing was created), so it can be retried as it is. Keys last
API_IDEMPOTENCY_TTL_SECONDS.
"""

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.response import Response

from api.models import IdempotencyRecord
from api.problems import Problem
from console import clock

HEADER = "Idempotency-Key"
REPLAYED_HEADERS = ("Location", "ETag")


def _fingerprint(request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        body = repr(request.data)
    text = "\n".join([request.method, request.path, body])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _valid_key(key: str) -> bool:
    return 1 <= len(key) <= 255 and all(33 <= ord(character) <= 126 for character in key)


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.response_body, status=record.status_code)
    for name, value in (record.response_headers or {}).items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def purge_expired() -> int:
    """Delete the records older than the TTL; returns how many (the beat task's body)."""
    cutoff = clock.now() - timedelta(seconds=settings.API_IDEMPOTENCY_TTL_SECONDS)
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def idempotent(method):
    """Decorate an ApiView's post()."""

    @functools.wraps(method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return method(view, request, *args, **kwargs)
        key = key.strip()
        if not _valid_key(key):
            raise Problem(
                400, _("The Idempotency-Key must be 1 to 255 visible ASCII characters."), code="invalid_idempotency_key"
            )
        token = request.auth
        fingerprint = _fingerprint(request)
        now = clock.now()
        expired_before = now - timedelta(seconds=settings.API_IDEMPOTENCY_TTL_SECONDS)
        IdempotencyRecord.objects.filter(token=token, key=key, created_at__lt=expired_before).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(token=token, key=key, fingerprint=fingerprint, created_at=now)
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(token=token, key=key).first()
            if record is None:  # released meanwhile: the caller may simply retry
                raise Problem(
                    409, _("A request with this Idempotency-Key is still being processed."), code="idempotency_in_progress"
                ) from None
            if record.fingerprint != fingerprint:
                raise Problem(
                    422,
                    _("This Idempotency-Key was already used for a different request. Use a new key."),
                    code="idempotency_key_reused",
                ) from None
            if record.status_code is None:
                raise Problem(
                    409,
                    _("A request with this Idempotency-Key is still being processed."),
                    code="idempotency_in_progress",
                    headers={"Retry-After": "1"},
                ) from None
            return _replay(record)
        succeeded = False
        try:
            response = method(view, request, *args, **kwargs)
            succeeded = 200 <= response.status_code < 300
            if succeeded:
                IdempotencyRecord.objects.filter(pk=record.pk).update(
                    status_code=response.status_code,
                    response_body=getattr(response, "data", None),
                    response_headers={name: response[name] for name in REPLAYED_HEADERS if name in response},
                )
            return response
        finally:
            if not succeeded:
                IdempotencyRecord.objects.filter(pk=record.pk).delete()

    return wrapper
