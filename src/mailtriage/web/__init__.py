"""The staff web UI and JSON API (``mailtriage serve``): FastAPI, server-rendered pages."""

from mailtriage.web.app import create_app

__all__ = ["create_app"]
