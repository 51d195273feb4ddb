"""Spaces orchestrator: a self-hostable platform that runs Hugging Face Spaces.

The control plane keeps Space repos and their desired state, builds an image (or a virtual environment)
per SDK, runs it on a runtime and proxies its public URL ``http://{owner}-{name}.{domain}``.
"""

__version__ = "0.1.0"
