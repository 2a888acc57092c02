from celery import shared_task

from console import clock
from console.models import TaskHeartbeat


@shared_task(name="console.heartbeat")
def heartbeat():
    """Records that beat and a worker are alive (visible in the console footer for staff)."""
    now = clock.now()
    TaskHeartbeat.objects.beat("heartbeat", now)
    return now.isoformat()
