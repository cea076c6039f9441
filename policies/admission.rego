# Admission: may an AgentWorkload start a Workflow?
#
# Input (agentic_operator/decision.py):
#   {"workload": <the AgentWorkload, spec defaulted>,
#    "settings": {"defaultAgentImage": ..., "defaultBucket": ..., "namespace": ...}}
# `deny` names every problem, each message starting with the field at fault; `allow` is
# true exactly when there is none. Every list and limit comes from data.agentic.config
# (data.json, overridable per stack); a missing or mistyped key denies, so a bad
# configuration cannot switch a check off.
#
# The agent steps fetch the target URLs from inside the cluster, so a target must not
# reach the cluster, its nodes or the cloud metadata service (SSRF). Hosts are read the
# way browsers read them (WHATWG URL): user info, percent-escapes, non-ASCII and numeric
# IPv4 shorthands ("127.1", "0x7f.0.0.1", "2130706433") are refused rather than decoded.
# Ref: https://url.spec.whatwg.org/#host-parsing
package agentic.admission

import data.agentic.addresses
import data.agentic.lib

# An alias, not a rule: the operator asks for the whole package, so every rule here is
# evaluated and sent with each answer, and a rule `cfg` would send all of agentic.config
# (public_tlds' 1436 names) each time, ~1.3 ms of OPA's time a query.
import data.agentic.config as cfg

spec := input.workload.spec if is_object(input.workload.spec)

else := {}

default allow := false

allow if count(deny) == 0

deny contains msg if {
	some msg in lib.config_problems({
		"allowed_schemes": "strings",
		"max_targets": "number",
		"allowed_hosts": "strings",
		"denied_hosts": "strings",
		"public_tlds": "strings",
		"internal_host_suffixes": "strings",
		"blocked_networks": "string map",
		"allowed_registries": "strings",
		"bucket_pattern": "string",
		"allowed_buckets": "strings",
	})
}

# ---------------------------------------------------------------------------------------
# Target URLs

urls := object.get(spec, "targetUrls", [])

field(i) := sprintf("spec.targetUrls[%v]", [i])

# A message about the host of the i-th target.
host_problem(i, h, what) := concat("", [field(i), ": host ", lib.show(h.text), " ", what])

deny contains "spec.targetUrls: must be a list of URLs" if not is_array(urls)

deny contains "spec.targetUrls: at least one URL is required" if count(urls) == 0

deny contains sprintf("spec.targetUrls: %v URLs, more than max_targets (%v)", [count(urls), cfg.max_targets]) if {
	is_array(urls)
	count(urls) > cfg.max_targets
}

# The scheme and authority of each URL that has them, by index.
targets[i] := {"scheme": lower(m[1]), "authority": m[2]} if {
	is_array(urls)
	some i, url in urls
	is_string(url)
	some m in regex.find_all_string_submatch_n(`^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)`, url, 1)
}

# The host of each target, classified by host().
hosts[i] := host(t.authority) if {
	some i, t in targets
}

deny contains concat("", [field(i), ": ", lib.show(url), " is not an absolute URL (scheme://host/...)"]) if {
	is_array(urls)
	some i, url in urls
	not targets[i]
}

deny contains concat("", [field(i), ": scheme ", lib.show(t.scheme), " is not allowed (allowed: ", concat(", ", cfg.allowed_schemes), ")"]) if {
	some i, t in targets
	not t.scheme in cfg.allowed_schemes
}

deny contains host_problem(i, h, h.why) if {
	some i, h in hosts
	h.kind == "invalid"
}

# A port, when written, is what a client would connect to: 1-65535, as plain digits.
deny contains concat("", [field(i), ": port ", lib.show(m[1]), " is not a port number (1-65535, no leading zeros)"]) if {
	some i, t in targets
	hosts[i].kind != "invalid"
	some m in regex.find_all_string_submatch_n(`:([0-9]+)$`, t.authority, 1)
	not port_number(m[1])
}

port_number(text) if {
	regex.match(`^[1-9][0-9]{0,4}$`, text)
	to_number(text) <= 65535
}

deny contains host_problem(i, h, concat("", ["is a blocked address: ", cfg.blocked_networks[cidr], " (", cidr, ")"])) if {
	some i, h in hosts
	some address in h.addresses
	some cidr in addresses.blocking(address)
}

# A blocked network that is not a CIDR would block nothing: deny rather than fail open.
deny contains concat("", ["data.agentic.config.blocked_networks: ", lib.show(cidr), " is not an IPv4 or IPv6 CIDR"]) if {
	is_object(cfg.blocked_networks)
	not addresses.all_plain
	some cidr, label in cfg.blocked_networks
	is_string(label)
	not addresses.parse_cidr(cidr)
}

deny contains host_problem(i, h, concat("", ["is cluster-internal (matches ", lib.show(suffix), ")"])) if {
	some i, h in hosts
	h.kind == "name"
	some suffix in cfg.internal_host_suffixes
	matches(h.text, suffix)
}

# A name without a dot resolves through the pod's DNS search path to a Service.
deny contains host_problem(i, h, "is a single-label name, which resolves to a cluster Service") if {
	some i, h in hosts
	h.kind == "name"
	not contains(h.text, ".")
	not cluster_internal(h.text)
}

# A name resolves on the public internet only under a top-level domain of the root zone;
# anything else (svc, local, internal, pod, localdomain, or a namespace: kubernetes.default,
# minio.agentic-system) only a cluster, a LAN or the pod's DNS search path resolves.
deny contains host_problem(i, h, concat("", ["ends in ", lib.show(tld(h.text)), ", which is not a public top-level domain (public_tlds)"])) if {
	some i, h in hosts
	h.kind == "name"
	contains(h.text, ".")
	not cluster_internal(h.text)
	not tld(h.text) in cfg.public_tlds
}

tld(name) := labels[count(labels) - 1] if labels := split(name, ".")

deny contains host_problem(i, h, concat("", ["is in denied_hosts (", pattern, ")"])) if {
	some i, h in hosts
	h.kind != "invalid"
	some pattern in cfg.denied_hosts
	matches(h.text, pattern)
}

deny contains host_problem(i, h, "is not in allowed_hosts") if {
	count(cfg.allowed_hosts) > 0
	some i, h in hosts
	h.kind != "invalid"
	not listed(h.text, cfg.allowed_hosts)
}

cluster_internal(name) if {
	some suffix in cfg.internal_host_suffixes
	matches(name, suffix)
}

listed(name, patterns) if {
	some pattern in patterns
	matches(name, pattern)
}

# A host list entry names a domain and all its subdomains ("example.com" matches
# "example.com" and "a.example.com", not "badexample.com"); "*." and a trailing dot are
# ignored so "*.example.com" means the same.
matches(name, pattern) if name == domain(pattern)

matches(name, pattern) if endswith(name, concat("", [".", domain(pattern)]))

domain(pattern) := d if {
	d := trim_prefix(trim_suffix(lower(pattern), "."), "*.")
	d != ""
}

# ---------------------------------------------------------------------------------------
# Hosts and addresses

# {"kind": "ip"|"name"|"invalid", "text": the host as compared and shown, "addresses":
# the IP addresses it denotes (an IPv4-mapped IPv6 address also denotes its IPv4),
# "why": what is wrong with an invalid one}. Hosts compare lower-case without a trailing
# dot, as DNS does.
host(authority) := {"kind": "invalid", "text": authority, "why": "has user info (user@host), which is not allowed", "addresses": []} if {
	contains(authority, "@")
} else := ipv6_host(lower(m[1])) if {
	some m in regex.find_all_string_submatch_n(`^\[([^\]]*)\](:[0-9]*)?$`, authority, 1)
} else := name_host(trim_suffix(lower(m[1]), ".")) if {
	some m in regex.find_all_string_submatch_n(`^([A-Za-z0-9.-]+)(:[0-9]*)?$`, authority, 1)
} else := {"kind": "invalid", "text": authority, "why": "is not a valid host (letters, digits, dots and hyphens, or [IPv6])", "addresses": []}

ipv6_host(text) := {"kind": "ip", "text": text, "addresses": array.concat([{"family": 6, "words": words}], addresses.mapped_ipv4(words))} if {
	words := addresses.ipv6_words(text)
} else := {"kind": "invalid", "text": text, "why": "is not a valid IPv6 address", "addresses": []}

# A host whose last label is a number is an IPv4 address to a browser, whatever its form;
# only the canonical dotted-decimal form is accepted, so what is checked is what is used.
name_host(text) := {"kind": "ip", "text": text, "addresses": [{"family": 4, "words": words}]} if {
	regex.match(`(^|\.)(0[xX][0-9A-Fa-f]*|[0-9]+)$`, text)
	words := addresses.ipv4_words(text)
} else := {"kind": "invalid", "text": text, "why": "is not a canonical IPv4 address (four decimal numbers 0-255)", "addresses": []} if {
	regex.match(`(^|\.)(0[xX][0-9A-Fa-f]*|[0-9]+)$`, text)
} else := {"kind": "name", "text": text, "addresses": []} if {
	count(text) <= 253
	regex.match(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`, text)
} else := {"kind": "invalid", "text": text, "why": "is not a valid host name", "addresses": []}

# ---------------------------------------------------------------------------------------
# Agent image and artifact bucket

# The value the Workflow will use: the spec's, else the platform default (as
# agentic_operator.argo does), with the field to name in a message.
effective(spec_key, settings_key) := {"field": concat(".", ["spec", spec_key]), "value": spec[spec_key]} if {
	spec[spec_key] != ""
} else := {"field": concat(".", ["settings", settings_key]), "value": setting(settings_key)}

setting(key) := value if {
	value := input.settings[key]
} else := ""

image := effective("agentImage", "defaultAgentImage")

deny contains concat("", [image.field, ": image ", lib.show(image.value), " is not from an allowed registry (", concat(", ", cfg.allowed_registries), ")"]) if {
	not allowed_image(image.value)
}

allowed_image(ref) if {
	is_string(ref)
	name := repository(ref)
	some prefix in cfg.allowed_registries
	under(name, lower(trim_suffix(prefix, "/")))
}

under(name, prefix) if name == prefix

under(name, prefix) if startswith(name, concat("", [prefix, "/"]))

# The repository an image reference names, without tag or digest and with Docker's
# implicit registry spelled out ("nginx:1" -> "docker.io/library/nginx"), so allow-list
# prefixes compare like with like. Ref: https://github.com/distribution/reference
repository(ref) := lower(concat("/", qualified(array.concat(array.slice(parts, 0, last), [split(parts[last], ":")[0]])))) if {
	parts := split(split(ref, "@")[0], "/")
	last := count(parts) - 1
}

qualified(path) := path if {
	count(path) > 1
	registry_host(path[0])
} else := array.concat(["docker.io"], path) if {
	count(path) > 1
} else := array.concat(["docker.io", "library"], path)

registry_host(component) if contains(component, ".")

registry_host(component) if contains(component, ":")

registry_host(component) if component == "localhost"

bucket := effective("minioBucket", "defaultBucket")

deny contains concat("", [bucket.field, ": bucket ", lib.show(bucket.value), " does not match bucket_pattern ", cfg.bucket_pattern]) if {
	not regex.match(cfg.bucket_pattern, bucket.value)
}

deny contains concat("", [bucket.field, ": bucket ", lib.show(bucket.value), " is not in allowed_buckets"]) if {
	count(cfg.allowed_buckets) > 0
	not bucket.value in cfg.allowed_buckets
}
