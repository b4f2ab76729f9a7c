from django.shortcuts import render

from reviewqueue.accounts.decorators import role_required


@role_required("reviewer")
def queue(request):
    return render(request, "review/queue.html")
