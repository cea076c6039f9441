# A stand-in that approves every gate (see admission.rego here).
package agentic.gate

allow := true

reasons := ["stand-in policy: always approved"]
