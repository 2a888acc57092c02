"""System checks of the production shape (run by `manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def production_shares_its_state(app_configs, **kwargs):
    """Rate limits and throttles live in the cache and tasks go through the broker: in
    production both must be shared by every process, not local to one."""
    if not settings.PRODUCTION:
        return []
    errors = []
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("LocMemCache", "DummyCache", "FileBasedCache")):
        errors.append(
            Error(
                f"The cache ({backend}) is per process: sign-in throttles and rate limits would not be shared.",
                hint="Set REDIS_URL=redis://host:6379/1.",
                id="admin_center.E001",
            )
        )
    if settings.CELERY_BROKER_URL.startswith(("filesystem://", "memory://")):
        errors.append(
            Error(
                f"The Celery broker ({settings.CELERY_BROKER_URL.split('://')[0]}) is for one machine in development.",
                hint="Set CELERY_BROKER_URL=redis://host:6379/0.",
                id="admin_center.E002",
            )
        )
    return errors
