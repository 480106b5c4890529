"""Errors a user can act on. The CLI prints their message on one line and exits with code 2."""

from __future__ import annotations


class VibeforgeError(Exception):
    """Base of every error whose message tells the user what went wrong and how to fix it."""

    exit_code = 2


class ConfigError(VibeforgeError):
    """vibeforge.yaml, the environment or the secrets file holds an invalid value."""


class NotFoundError(VibeforgeError):
    """A named thing (bot, timeline, adapter, elder) does not exist."""


class AlreadyExistsError(VibeforgeError):
    """A named thing already exists and names must be unique."""


class StoreUnavailableError(VibeforgeError):
    """The database cannot be reached or opened."""
