"""agentic-platform: read the stack config, build the platform, say how to use it.

`pulumi up -s dev` (or `make up`) runs this against the current kube context.
"""

import pulumi

from components import config
from components.argo import SERVER_PORT
from components.platform import AgenticPlatform

settings = config.load()  # raises ConfigError, naming each bad key, before any resource
platform = AgenticPlatform("agentic", settings)

argo_ns, server = settings.argo.namespace, platform.argo.server_service
pulumi.export("platformNamespace", settings.namespace)
pulumi.export("workloadNamespaces", list(settings.workload_namespaces))
pulumi.export("minioEndpoint", platform.minio.endpoint)
pulumi.export("artifactBucket", platform.minio.bucket)
pulumi.export("argoNamespace", argo_ns)
pulumi.export("argoServerService", server)
pulumi.export(
    "argoUi",
    server.apply(
        lambda svc: (
            f"kubectl -n {argo_ns} port-forward svc/{svc} {SERVER_PORT}:{SERVER_PORT}"
            f" # then open http://localhost:{SERVER_PORT} and paste a token (client auth mode)"
        )
    ),
)
pulumi.export("workloads", "kubectl get aw -A")
pulumi.export(
    "workflows",
    " ; ".join(f"kubectl -n {ns} get workflows" for ns in settings.workload_namespaces),
)
