"""One rule for tests that need something the machine may lack (PostgreSQL, Redis, a browser)."""

import os
from typing import NoReturn

import pytest


def skip_or_fail(message: str, *, required_by: str = "REQUIRE_SERVICES") -> NoReturn:
    """Skip with `message`; fail instead when `required_by` is 1 (CI, where a skip would hide a gap)."""
    __tracebackhide__ = True  # report the skip where the test asked for the service
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{message} ({required_by}=1)")
    pytest.skip(message)
