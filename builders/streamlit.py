"""The Streamlit SDK: ``sdk: streamlit`` Spaces, started with ``streamlit run app.py`` on port 7860.

Owns the Streamlit command line and environment for an app served behind a proxy on another host
name: headless, no XSRF or CORS checks (the page is framed and proxied cross-site, as on the Hub,
whose SDK turned XSRF protection off itself), no usage statistics. The port and address are given as
``STREAMLIT_SERVER_PORT`` / ``STREAMLIT_SERVER_ADDRESS`` so each runtime can choose them (a flag on
the command line would win over the environment).
"""

from __future__ import annotations

from builders.config import SpaceConfig
from builders.python_sdk import PythonSdkBuilder

STREAMLIT_FLAGS = (
    "--server.headless",
    "true",
    "--server.enableXsrfProtection",
    "false",
    "--server.enableCORS",
    "false",
    "--server.enableWebsocketCompression",
    "false",
    "--browser.gatherUsageStats",
    "false",
)


def streamlit_env(port: int) -> dict[str, str]:
    return {
        "STREAMLIT_SERVER_PORT": str(port),
        "STREAMLIT_SERVER_ADDRESS": "0.0.0.0",
        "STREAMLIT_SERVER_HEADLESS": "true",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
        "SYSTEM": "spaces",
    }


class StreamlitBuilder(PythonSdkBuilder):
    sdk = "streamlit"
    title = "Streamlit"

    def env(self, port: int) -> dict[str, str]:
        return streamlit_env(port)

    def start(self, config: SpaceConfig) -> tuple[str | None, tuple[str, ...]]:
        return "streamlit", ("run", config.app_file, *STREAMLIT_FLAGS)
