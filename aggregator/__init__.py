"""The service: configuration, fetching, scheduling, the pipeline, the web app and the CLI."""
