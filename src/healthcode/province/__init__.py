"""A province's service: applications, the hub's feed applied, colours from the rules, timely
transcoding, codes signed by the province, status reported to the hub.

``app.create_app(service)`` is the HTTP API; ``service.ProvinceService`` wires the parts and
runs the background loops (``start()``/``stop()``); docs/province.md tells the whole story.
"""
