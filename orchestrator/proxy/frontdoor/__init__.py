"""The front door: the fast path on the public port, an HTTP/1.1 relay on asyncio protocols (uvloop).

``door`` listens and holds what connections share; ``client`` runs one client connection (parse,
gate, relay); ``upstream`` holds connections to apps and their pool; ``heads`` builds the bytes of
heads and pages; ``eager`` runs the gate without a task when it need not wait. App hosts go through
``orchestrator.proxy.gate`` request by request; the API host is relayed as raw bytes to the API server
(uvicorn) on an internal address. The ASGI ``ProxyApp`` stays as the fallback behind that server.
"""

from orchestrator.proxy import compiled

compiled.use(__path__, "orchestrator/proxy/frontdoor")  # before any compiled module is imported

from orchestrator.proxy.frontdoor.door import FrontDoor  # noqa: E402
from orchestrator.proxy.frontdoor.upstream import Address  # noqa: E402

__all__ = ["Address", "FrontDoor"]
