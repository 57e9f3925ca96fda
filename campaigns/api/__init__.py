"""The JSON API under /api/v1 for member networks and integrations, shaped like OSDI (HAL+JSON).

`setup.init_api` builds it with flask-smorest, which writes the OpenAPI 3.1 document from the
same marshmallow schemas and decorators that parse each request and serialize each answer: the
document cannot drift from what is served. Public reads need no key; what concerns supporters
needs a network's key with the right scope (`auth`).
"""
