"""Fixtures the security tests share with the component tests they cross (requested by name only)."""

from tests.routing.conftest import multimail, queued  # noqa: F401 (fixtures: the fake MultiMail, intake's tasks)
