import pytest

from shop.platform_settings import invalidate_cache


@pytest.fixture(autouse=True)
def _fresh_platform_settings():
    """Platform settings are cached across tests (one Redis); start and end each test clean so
    a cached value never outlives the rolled-back rows it came from."""
    invalidate_cache()
    yield
    invalidate_cache()
