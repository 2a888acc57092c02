from celery import shared_task
from django.db.models import F

from console import clock
from console.models import TaskHeartbeat


@shared_task(name="console.heartbeat")
def heartbeat():
    """Records that beat and a worker are alive (visible in the console footer for staff)."""
    now = clock.now()
    updated = TaskHeartbeat.objects.filter(name="heartbeat").update(last_run_at=now, runs=F("runs") + 1)
    if not updated:
        TaskHeartbeat.objects.get_or_create(name="heartbeat", defaults={"last_run_at": now, "runs": 1})
    return now.isoformat()
