"""Pure rules and types, no I/O: filters, vocabularies, names, parsing, bodies, errors.

Imports nothing of the project.
"""
