"""Fixtures shared by unit and end-to-end tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
"""The machine's PostgreSQL (trust authentication), where each test gets a database of its own."""


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test (SQLAlchemy URL), dropped afterwards."""
    name = f"spaces_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print why each rerun test failed the first time (pytest-rerunfailures lists only its name), so a
    flaky failure in CI leaves its traceback behind."""
    for report in terminalreporter.stats.get("rerun", []):
        terminalreporter.write_sep("-", f"first failure of {report.nodeid} (passed or failed on rerun)")
        terminalreporter.write_line(str(report.longrepr)[-4000:])
