"""Live feeds: clients of upstream services (ACLED) and the runs that merge what changed."""
