#!/usr/bin/env bash
# Points a stack at its cluster in CI (.github/workflows/preview.yml and up.yml):
#   KUBECONFIG_DATA=<kubeconfig contents> KUBE_CONTEXT=<context> hack/ci/point-stack.sh STACK
# writes the kubeconfig to a private file in $RUNNER_TEMP (or a temporary folder) and sets
# the stack's kubernetes.kubeconfig and kubernetes.context, so the program's one provider
# targets exactly that cluster. The cluster tier runs this script against its control plane.
set -euo pipefail
stack=${1:?usage: hack/ci/point-stack.sh STACK}
: "${KUBECONFIG_DATA:?KUBECONFIG_DATA must hold the kubeconfig (a secret)}"
: "${KUBE_CONTEXT:?KUBE_CONTEXT must name its context}"
dir=${RUNNER_TEMP:-$(mktemp -d)}
kubeconfig=$dir/$stack.kubeconfig
(umask 077 && printf '%s\n' "$KUBECONFIG_DATA" >"$kubeconfig")
pulumi config set --stack "$stack" kubernetes.kubeconfig "$kubeconfig" --non-interactive
pulumi config set --stack "$stack" kubernetes.context "$KUBE_CONTEXT" --non-interactive
