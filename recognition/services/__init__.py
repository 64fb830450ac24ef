"""Writes that matter in the identity domain; views, tasks, admin and commands call these and nothing else."""
