from django.conf import settings


def console(request):
    membership = None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        membership = getattr(request, "membership", None)
        if membership is None:
            membership = getattr(user, "membership", None) if hasattr(user, "membership") else None
    return {"current_membership": membership, "support_url": settings.SUPPORT_URL}
