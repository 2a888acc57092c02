from django.shortcuts import render

from console.permissions import admin_required


@admin_required
def domain_list(request):
    return render(request, "domains/domain_list.html", {})
