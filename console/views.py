from django.shortcuts import redirect

from console.permissions import admin_required


@admin_required
def home(request):
    return redirect("domains:list")
