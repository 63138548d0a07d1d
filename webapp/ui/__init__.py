"""The server-rendered admin UI (Jinja2 + htmx), on the same app and the same services as the API."""
