"""Running the HTTP server: connection hygiene, logging, graceful drain on SIGTERM."""
