# Platform settings read fresh from the database in each test, as in the fault tests.
from tests.faults.conftest import _fresh_platform_settings  # noqa: F401
