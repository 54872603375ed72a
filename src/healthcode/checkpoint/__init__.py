"""The checkpoint service: the verifier over HTTP, offline first (``checkpoint/service.py``)."""
