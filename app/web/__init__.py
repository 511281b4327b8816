"""HTTP in and out: routers, parameters, responses, problems, auth, limits.

Imports every layer below it: services, ingest, store, geo, domain.
"""
