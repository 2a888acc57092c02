"""ETag / If-Match for writes that could race (domain method and settings, role changes).

The ETag is a version of the resource's stored state (not of its rendering, which varies
with the reader's language), so a client's If-Match works whatever language it reads in.
A write with an If-Match that no longer matches is refused with 412 and changes nothing; a
write without If-Match goes ahead (last write wins, as in the console).
"""

import hashlib
import json

from django.utils.translation import gettext as _

from api.problems import Problem


def etag_of(*parts) -> str:
    text = json.dumps(parts, default=str, sort_keys=True)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def require_match(request, current_etag: str) -> None:
    """412 unless If-Match is absent, "*", or lists the current ETag (strong comparison)."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    candidates = [value.strip() for value in header.split(",")]
    if "*" in candidates or current_etag in candidates:
        return
    raise Problem(
        412,
        _("This resource was changed since you read it. Read it again and retry with its new ETag."),
        code="precondition_failed",
        headers={"ETag": current_etag},
    )
