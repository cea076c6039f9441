# A stand-in that admits everything, for measuring the operator without the cost of the
# real policy (bench.scale --policies bench/policies-allow): what OPA itself adds is
# measured with the real policies/ next to it.
package agentic.admission

allow := true

deny := []
