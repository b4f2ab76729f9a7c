"""GET /api/v1/openapi.json: the OpenAPI 3 document of all of /api/v1 (kept true by tests/routing/test_openapi.py)."""

import functools
import json
from pathlib import Path

from django.http import JsonResponse
from django.views.decorators.http import require_GET

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")


@functools.cache
def openapi_document() -> dict:
    return json.loads(DOCUMENT_PATH.read_text())


@require_GET
def openapi_view(request):
    response = JsonResponse(openapi_document())
    response["Access-Control-Allow-Origin"] = "*"  # public and harmless: lets API tools fetch it
    return response
