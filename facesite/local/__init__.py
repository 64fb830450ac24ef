"""Running the whole platform on one machine: the embedded PostgreSQL and Redis, and the process launcher."""
