"""{% system_status %}: when background tasks last ran (beat -> worker -> database), for staff."""

from django import template

from console.models import TaskHeartbeat

register = template.Library()


@register.inclusion_tag("console/system_status.html")
def system_status():
    return {"heartbeat": TaskHeartbeat.objects.filter(name="heartbeat").first()}
