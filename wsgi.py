"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask run`` (see .flaskenv)."""

from claims import create_app

app = create_app()
