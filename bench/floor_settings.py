"""Settings for the benchmark's floor server: the project's own, with the floor's URLconf."""

from config.settings import *  # noqa: F403 (the same middleware, database and cache)

ROOT_URLCONF = "bench.floor_urls"
