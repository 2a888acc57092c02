from django.conf import settings

from console.models import TaskHeartbeat


def console(request):
    """What every page's frame needs: the signed-in user's membership, the help link, and for
    staff when background tasks last ran (proof that beat and a worker are alive)."""
    membership = heartbeat = None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        membership = getattr(request, "membership", None)
        if membership is None:
            membership = getattr(user, "membership", None) if hasattr(user, "membership") else None
        if user.is_staff:
            heartbeat = TaskHeartbeat.objects.filter(name="heartbeat").first()
    return {
        "current_membership": membership,
        "support_url": settings.SUPPORT_URL,
        "heartbeat": heartbeat,
    }
