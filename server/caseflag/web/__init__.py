"""The HTTP door: the Flask app, API, list filters, pages, OpenAPI, limits."""
