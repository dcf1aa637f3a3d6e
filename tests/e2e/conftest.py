"""The browser tests' shared fixtures: one server of ``app.py`` per test module, and offline pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.browser import APP, PHONE, app_env, page_in, run_streamlit


@pytest.fixture(scope="module")
def app_url(settings) -> Iterator[str]:
    """The base URL of ``app.py`` served on the tests' data (one server per test module)."""
    with run_streamlit(APP, env=app_env(settings)) as base:
        yield base


@pytest.fixture
def page(browser) -> Iterator[Any]:
    """A desktop-sized page that can reach only this machine."""
    with page_in(browser) as p:
        yield p


@pytest.fixture
def phone(browser) -> Iterator[Any]:
    """A phone-sized page that can reach only this machine."""
    with page_in(browser, PHONE) as p:
        yield p
