"""agentic-platform: read the stack config, build the platform, say how to use it.

`pulumi up -s dev` (or `make up`) runs this against the cluster the stack names
(`kubernetes.context`, `kubernetes.kubeconfig`): every resource goes through that one
explicit provider, never through kubectl's current context.
"""

import pulumi
import pulumi_kubernetes as k8s

from components import config
from components.argo import SERVER_PORT
from components.platform import AgenticPlatform

settings = config.load()  # raises ConfigError, naming each bad key, before any resource
cluster = k8s.Provider("agentic-cluster", context=settings.cluster.context, kubeconfig=settings.cluster.kubeconfig)
platform = AgenticPlatform("agentic", settings, pulumi.ResourceOptions(provider=cluster))

argo_ns = settings.argo.namespace
pulumi.export("kubeContext", settings.cluster.context)
pulumi.export("platformNamespace", settings.namespace)
pulumi.export("workloadNamespaces", list(settings.workload_namespaces))
pulumi.export("minioEndpoint", platform.minio.endpoint)
pulumi.export("artifactBucket", platform.minio.bucket)
pulumi.export("argoInstall", settings.argo.install)
pulumi.export("argoNamespace", argo_ns)
if platform.argo is not None:  # the chart's Argo Server; an external Argo has its own
    server = platform.argo.server_service
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
