"""The app proxy: serves each Space's app at ``http://{owner}-{name}.{domain}`` through the control plane.

``routes`` keeps which instance serves each subdomain (and how many connections each carries),
``app`` relays HTTP, ``websocket`` relays WebSockets, ``headers`` decides which headers cross and
``pages`` renders the proxy's own answers.
"""

from orchestrator.proxy.app import Describe, ProxyApp, host_dispatch
from orchestrator.proxy.routes import Route, RouteTable, Unavailable

__all__ = ["Describe", "ProxyApp", "Route", "RouteTable", "Unavailable", "host_dispatch"]
