"""The app proxy: serves each Space's app at ``http://{owner}-{name}.{domain}`` through the control plane.

``routes`` keeps which instance serves each subdomain (and how many connections each carries),
``gate`` decides per request where it goes (or what page it gets instead), ``app`` relays HTTP,
``websocket`` relays WebSockets, ``headers`` decides which headers cross and ``pages`` renders the
proxy's own answers.
"""

from orchestrator.proxy.app import ProxyApp, host_dispatch
from orchestrator.proxy.gate import Describe, Forward, Gate, Refuse
from orchestrator.proxy.routes import Route, RouteTable, Unavailable

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
