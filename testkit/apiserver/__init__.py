"""An emulated Kubernetes API server on loopback: kmock's server with an object store of
our own behind it (docs/ARCHITECTURE.md, "Testing without a cluster")."""
