from django.shortcuts import render

from reviewqueue.accounts.decorators import role_required


@role_required("admin")
def home(request):
    return render(request, "routing/home.html")
