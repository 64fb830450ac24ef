"""Test plumbing shared by the suite: service subprocesses (daphne, workers) and user/client factories."""
