"""Files coming in: event and place imports, the seeds; imports store, geo, domain."""
