"""Use-cases: reads, writes, gazetteer, stats, history, keys; imports store, geo, domain."""
