"""Fixtures the security tests share with the component tests they cross (requested by name only)."""

from tests.routing.conftest import multimail  # noqa: F401 (fixture: the fake MultiMail)
