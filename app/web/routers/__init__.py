"""HTTP routers: thin handlers that parse, call one function and respond."""
