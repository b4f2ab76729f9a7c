"""Paths under /api/v1/ that match no endpoint answer a JSON 404, like every other API answer."""

import pytest


@pytest.mark.parametrize("path", ["/api/v1/drafts/-208", "/api/v1/drafts/abc/decision", "/api/v1/no-such-thing"])
def test_an_unknown_api_path_answers_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "no such endpoint" in response.json()["error"]


@pytest.mark.parametrize("path", ["/api/v1/drafts/a%0Ab", "/api/v1/drafts/%0A", "/api/v1/x%0D%0Ay/decision"])
def test_a_path_with_a_line_break_answers_json_404_too(client, path):
    """Found by the API fuzz (seed 7): a %0A in {id} fell past the catch-all (`.` stops at a line
    break) to Django's HTML 404, outside the OpenAPI document."""
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "no such endpoint" in response.json()["error"]
