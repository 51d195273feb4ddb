"""ZeroGPU: Spaces that run on CPU and borrow a GPU for the length of one ``@spaces.GPU`` call.

The client is the public `spaces` package, unchanged; this package is the server it talks to (the
"device API") and the rules behind it. Layers, from pure to I/O:

    protocol.py     the wire vocabulary the client reads (headers, bodies, events)
    settings.py     tiers and time limits (the Hub's defaults)
    pool.py         the devices lent out: ``DevicePool`` interface, a declared list
    quota.py        visitors' daily quota windows: admit, reserve, charge
    leases.py       leases on devices, idle workers left on them
    waiting.py      the queue and its priority
    scheduler.py    the decisions (pure: every method takes ``now`` and returns events)
    ledger.py       one record per finished call; totals per visitor, Space and team
    identity.py     the visitor token (``X-IP-Token``) the proxy signs and the device API verifies
    registry.py     which Spaces may call, each by a secret in its device API URL
    workers.py      the runtime's side: is this pid the Space's, end it
    environment.py  the environment of a ZeroGPU Space's app
    server.py       the ASGI app and the clock that drives the scheduler
    service.py      wiring from a data dir; running on a loop or a thread
    __main__.py     ``python -m orchestrator.zerogpu run``: one Space with its device API

One device API serves all the ZeroGPU Spaces of a machine, because they share its devices, its queue
and the visitors' quotas; each Space is authenticated by the secret in its own URL (``registry.py``),
and each visitor by a token bound to the Space it was issued for (``identity.py``).

What the platform wires in (nothing here reaches into the control plane):

- the pool: a ``pool.DevicePool`` of the GPUs and MIG slices the admin dedicates to ZeroGPU;
- the runtime: starting a ZeroGPU Space's app with ``environment.app_environment(...)`` and the URL of
  ``DeviceAPI.register_space``, a ``workers.WorkerControl`` (is this pid the Space's, end it; the
  process runtime's is ``LocalProcessWorkers``), and ``DeviceAPI.space_stopped`` when the app ends;
- the proxy: an ``X-IP-Token`` on every request to a ZeroGPU Space (``identity.mint_for``, or
  ``identity.rebind`` for a token another Space forwarded), with the key of ``identity.key_path``;
- accounting: a ``ledger.UsageSink`` (the control plane's database) that admins' and users' usage
  views read, through ``ledger.summarize`` and ``Scheduler.quota_status``.
"""
