from django.shortcuts import render

from reviewqueue.accounts.decorators import role_required


@role_required("auditor")
def events(request):
    return render(request, "audit/events.html")
