"""Access checks for pages (session) and for the review API (a person's bearer token)."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse

from reviewqueue.accounts.roles import user_has_role
from reviewqueue.accounts.tokens import authenticate_api_token


def role_required(*roles: str):
    """A page for people holding any of `roles`: anonymous → login page, others → 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not any(user_has_role(request.user, role) for role in roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def api_role_required(*roles: str):
    """A JSON endpoint for a person's own API token: no or bad token → 401, no role → 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            token = authenticate_api_token(request)
            if token is None:
                error = "a valid personal API token is required (tokens expire: issue a new one on /accounts/profile/)"
                response = JsonResponse({"error": error}, status=401)
                response["WWW-Authenticate"] = 'Bearer realm="reviewqueue"'
                return response
            if not any(user_has_role(token.user, role) for role in roles):
                return JsonResponse({"error": f"this token's owner lacks the {' or '.join(roles)} role"}, status=403)
            request.user = token.user
            request.api_token = token
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
