"""PostgreSQL: engine, embedded cluster, models, repository, SQL builders, migrations, backup.

Imports geo, domain and settings.
"""
