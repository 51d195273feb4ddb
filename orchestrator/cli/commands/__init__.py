"""The ``spaces`` commands, one module per group; each exposes ``register(app)``."""
