"""Settings, read from the environment (see the configuration table in README.md), one module
per concern: the site, the API and accounts, where data lives, abuse limits, the services the
shop talks to, background work. ``environment`` comes first: it loads a developer's .env file.

With no environment at all (plus DEBUG=1) the shop runs on an SQLite file in the project
folder with tasks executed inline: the embedded default. Production sets DATABASE_URL,
REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and an https SITE_URL.
"""

from config.settings.api import *  # noqa: F403
from config.settings.data import *  # noqa: F403
from config.settings.environment import *  # noqa: F403
from config.settings.limits import *  # noqa: F403
from config.settings.services import *  # noqa: F403
from config.settings.site import *  # noqa: F403
from config.settings.tasks import *  # noqa: F403
