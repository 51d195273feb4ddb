"""The Gradio SDK: ``sdk: gradio`` Spaces, started as ``python app.py`` on port 7860.

Owns what is Gradio's own in a ``PythonSdkBuilder``: the environment the Hub gives Gradio Spaces.
The plan is built on a prebuilt ``gradio:<version>-py<python>`` base image.
"""

from __future__ import annotations

from builders.python_sdk import SDK_PORT, PythonSdkBuilder

GRADIO_PORT = SDK_PORT


def gradio_env(port: int) -> dict[str, str]:
    """The environment the Hub starts Gradio Spaces with."""
    return {
        "GRADIO_SERVER_NAME": "0.0.0.0",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_NUM_PORTS": "1",
        "GRADIO_ALLOW_FLAGGING": "never",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
        "SYSTEM": "spaces",
    }


class GradioBuilder(PythonSdkBuilder):
    sdk = "gradio"
    title = "Gradio"

    def env(self, port: int) -> dict[str, str]:
        return gradio_env(port)
