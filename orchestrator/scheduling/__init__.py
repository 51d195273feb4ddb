"""GPU scheduling: hardware flavors, GPU inventory, team quotas and admission (issue 14's pure core).

Kueue's split, in small modules: the state (``snapshot``), the waiting line (``queue``) and the decision
(``admission``) are separate, and the :class:`Scheduler` ties them for the control plane. No module here
does I/O except the thin readers (``readers/``, ``yamlfile.read_yaml``).

    flavors.py, flavors.yaml   flavor names -> vCPU, memory, GPU resource, node selection, ZeroGPU
    inventory.py               nodes, cards, MIG instances, replicas; the devices admission hands out
    readers/nvml.py            this machine's GPUs via NVML (read-only)
    readers/kubernetes.py      node objects (device plugin allocatable, GFD labels)
    readers/inventory_file.py  an admin's declared inventory
    matching.py                which devices/nodes suit a flavor; which flavors are available, and why not
    quotas.py, quota_file.py   Kueue ClusterQueue limits per team, cohorts; the admin's YAML
    teams.py                   which team a Space's owner draws on
    devices.py                 who holds which device; placement on one node; time-slicing tenancy
    snapshot.py                quotas, usage per team and cohort, kept incrementally
    quota_fit.py               the quota arithmetic of one request
    preemption.py              whom to stop: idle teammates first, then Kueue's order
    admission.py               ``admit``: one pure decision
    decisions.py               Admitted | Preempt | Pending | Rejected, each with an Explanation
    queue.py                   BestEffortFIFO lanes per team and flavor, positions
    scheduler.py               events (request, release, touch, tick, quota/inventory change)
    ledger.py                  GPU-seconds per team and flavor over time

Import from the modules (``from orchestrator.scheduling.scheduler import Scheduler``): the package itself
imports nothing, so that ``python -m orchestrator.scheduling.inventory --nvml`` runs that module fresh.
"""
