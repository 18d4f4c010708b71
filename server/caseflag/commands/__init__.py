"""The commands: the CLI, batch runs and their report, serving behind nginx and gunicorn."""
