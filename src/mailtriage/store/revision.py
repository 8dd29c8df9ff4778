"""The schema revision this code works with (the newest Alembic revision it ships)."""

HEAD_REVISION = "0002"
