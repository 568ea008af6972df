import pytest

from shop.platform_settings import invalidate_cache


@pytest.fixture(autouse=True)
def _fresh_platform_settings():
    """set_setting invalidates the shared cache on commit, which a rolled-back test never
    reaches: start and end each test with the settings read from the database."""
    invalidate_cache()
    yield
    invalidate_cache()
