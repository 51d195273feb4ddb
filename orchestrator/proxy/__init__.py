"""The app proxy: serves each Space's app at ``http://{owner}-{name}.{domain}`` through the control plane.

``routes`` keeps which instance serves each subdomain (and how many connections each carries),
``gate`` decides per request where it goes (or what page it gets instead), ``app`` relays HTTP,
``websocket`` relays WebSockets, ``headers`` decides which headers cross and ``pages`` renders the
proxy's own answers. ``compiled`` swaps in a mypyc build of the hot modules when one is current.
"""

from orchestrator.proxy import compiled

compiled.use(__path__, "orchestrator/proxy")  # before any module that may be compiled is imported

from orchestrator.proxy.app import ProxyApp, host_dispatch  # noqa: E402
from orchestrator.proxy.gate import Describe, Forward, Gate, Refuse  # noqa: E402
from orchestrator.proxy.routes import Route, RouteTable, Unavailable  # noqa: E402

__all__ = [
    "Describe",
    "Forward",
    "Gate",
    "ProxyApp",
    "Refuse",
    "Route",
    "RouteTable",
    "Unavailable",
    "host_dispatch",
]
