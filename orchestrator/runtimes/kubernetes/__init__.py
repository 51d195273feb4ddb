"""Spaces on Kubernetes: the pure half of the ``kubernetes`` runtime.

Each Space runs as a Deployment (one replica awake, zero asleep), a Service, a Secret with its
variables and secrets, and a NetworkPolicy, in the Spaces namespace; the controllers elect their leader
on a Lease. This package makes those objects and decisions from plain values and does no I/O:

- ``names``: every derived name, label and annotation, with the collision-freedom argument;
- ``workload``: the values a Space's objects are made from (``SpaceWorkload``, ``ClusterPolicy``);
- ``hardware``: a hardware flavor as resources, node selection and GPU;
- ``manifests``: ``make_deployment``, ``make_service``, ``make_secret``, ``make_persistent_volume_claim``;
- ``policies``: ``make_network_policy``;
- ``leases``: leader election on a ``coordination.k8s.io/v1`` Lease;
- ``config``: the ``SPACES_KUBERNETES_*`` settings the Helm chart sets;
- ``bodies``: the objects' typed shapes.

The I/O half (API client, watches, the runtime) is built on these and must not be imported by them.
"""
