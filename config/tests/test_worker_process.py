"""A Celery pool process freezes what it loaded at start, out of the cyclic collector's scans."""

import gc

from celery.signals import worker_process_init


def test_a_pool_process_freezes_its_startup_objects():
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        worker_process_init.send(sender=None)
        assert gc.get_freeze_count() > 10_000  # Django and every app, not a handful of objects
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
