#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from config.startup import check_manage_py

    try:
        # Load the settings now: Django's command runner would swallow a configuration error
        # here and fail later with an unrelated traceback ("Models aren't loaded yet").
        check_manage_py(sys.argv)
    except ImproperlyConfigured as exc:
        sys.exit(f"Configuration error: {exc}\nSee README.md, Configuration (or .env.example).")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
