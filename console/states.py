"""One writer for a model with a status: every change of the state is a conditional UPDATE.

A model using `StateQuerySet` declares `ALLOWED_FROM` (for each status, the statuses it may be
entered from) and `FINAL_STATUSES` (rows nothing writes any more). A write that finds no row
in an allowed status changes nothing and returns 0: the transition already happened or is not
allowed, so a repeated task or a late request is harmless.
"""

from collections.abc import Sequence

from django.db import models

from console import bulk


class StateQuerySet(models.QuerySet):
    def write_state(self, *, to: str | None = None, **fields) -> int:
        """Write the rows of this queryset: with `to`, only those whose status may move to it
        (their status becomes `to`); without, the other fields of rows not in a final status."""
        if to is None:
            return self.exclude(status__in=self.model.FINAL_STATUSES).update(**fields)
        return self.filter(status__in=self.model.ALLOWED_FROM[to]).update(status=to, **fields)

    def write_states(self, objects: Sequence[models.Model], *, previous: Sequence[str], fields) -> int:
        """`write_state` for many rows at once, each with its own new values (set on the
        objects, status included): each row is written only while it still has its `previous`
        status, and each move must be allowed. One statement whatever the count."""
        for obj, status in zip(objects, previous, strict=True):
            if status not in self.model.ALLOWED_FROM[obj.status]:
                raise ValueError(f"{self.model.__name__} {obj.pk} cannot go from {status} to {obj.status}")
        return bulk.update_from_objects(self.model, objects, fields, only_if={"status": list(previous)})
