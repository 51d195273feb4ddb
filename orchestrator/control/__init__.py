"""Use cases of the control plane (Spaces, users) and the reconcile loop that makes them real."""
