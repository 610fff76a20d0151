"""Celery entry point: ``celery -A celery_worker worker`` / ``celery -A celery_worker beat``."""

from app import create_app
from app.tasks import celery_app

flask_app = create_app()
celery = celery_app
