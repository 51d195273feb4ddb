"""The thin readers that build an :class:`~orchestrator.scheduling.inventory.Inventory`: NVML on this
machine (``nvml``), Kubernetes node objects (``kubernetes``) and an admin's file (``inventory_file``).
Each only reads; none changes a GPU's or a node's configuration."""
