from reviewqueue.accounts.roles import user_roles


def roles(request):
    """`roles` in every template, for navigation by role."""
    user = getattr(request, "user", None)
    return {"roles": user_roles(user) if user is not None else []}
