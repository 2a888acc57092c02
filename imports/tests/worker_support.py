"""A real broker for worker tests: Redis (own db number) when REDIS_URL is set, else memory://."""

import os
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

IMPORTS_TEST_REDIS_DB = int(os.environ.get("IMPORTS_TEST_REDIS_DB", "3"))
QUEUE = "imports"


def redis_broker_url() -> str | None:
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{IMPORTS_TEST_REDIS_DB}", "", ""))


def _reset_pools(app):
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker(app, url: str, queue: str = QUEUE):
    """Point the in-process Celery app at `url` (the env var wins over conf, so set both), with
    `queue` emptied first."""
    previous_env = os.environ.get("CELERY_BROKER_URL")
    previous_conf = app.conf.broker_url
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.broker_url = url
    _reset_pools(app)
    with app.connection_for_write() as connection:
        # Leftovers of an earlier run or of other tests' on-commit enqueues (memory:// is per process).
        try:
            connection.default_channel.queue_purge(queue)
        except connection.channel_errors:  # the queue does not exist yet
            pass
    try:
        yield url
    finally:
        if previous_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous_env
        app.conf.broker_url = previous_conf
        _reset_pools(app)
