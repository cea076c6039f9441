# Unit tests for agentic.admission: `opa test policies/` runs them (so does `make test`,
# through tests/policy/test_opa_cli.py).
package agentic.admission_test

import data.agentic.admission

settings := {
	"defaultAgentImage": "ghcr.io/agentic-dev/agent:0.1.0",
	"defaultBucket": "agentic-artifacts",
	"namespace": "team-a",
}

workload(spec) := {
	"metadata": {"name": "demo", "namespace": "team-a"},
	"spec": object.union({"targetUrls": ["https://example.com/"], "objective": "Summarise"}, spec),
}

# The deny messages for `spec` (over a valid default), the platform settings and the
# configuration given.
deny_under(spec, platform, config) := result if {
	w := workload(spec)
	result := admission.deny with input.workload as w with input.settings as platform with data.agentic.config as config
}

allowed(spec) if {
	w := workload(spec)
	s := settings
	admission.allow with input.workload as w with input.settings as s
}

deny(spec) := deny_under(spec, settings, data.agentic.config)

# data.json with some keys replaced whole (object.union alone would merge nested objects).
configured(overrides) := object.union(object.remove(data.agentic.config, object.keys(overrides)), overrides)

# The deny messages for a single target URL.
deny_url(url) := deny({"targetUrls": [url]})

test_the_default_workload_is_allowed if {
	allowed({})
}

test_a_denied_workload_is_not_allowed if {
	not allowed({"targetUrls": ["http://10.0.0.1/"]})
}

test_public_hosts_and_addresses_pass if {
	every url in [
		"https://example.com/path?q=1#f",
		"HTTPS://Example.COM:443/",
		"https://example.com./",
		"http://8.8.8.8/",
		"http://[2606:4700:4700::1111]:8080/",
		"http://172.32.0.1/",
		"http://100.128.0.1/",
	] {
		count(deny_url(url)) == 0
	}
}

test_private_ipv4_names_the_field_and_network if {
	"spec.targetUrls[0]: host \"10.1.2.3\" is a blocked address: private (10.0.0.0/8)" in deny_url("http://10.1.2.3:8080/x")
}

test_the_index_in_the_message_is_the_urls if {
	"spec.targetUrls[1]: host \"192.168.1.1\" is a blocked address: private (192.168.0.0/16)" in deny({"targetUrls": ["https://example.com/", "http://192.168.1.1/"]})
}

test_cloud_metadata_is_link_local_and_metadata if {
	msgs := deny_url("http://169.254.169.254/latest/meta-data/")
	"spec.targetUrls[0]: host \"169.254.169.254\" is a blocked address: link-local (169.254.0.0/16)" in msgs
	"spec.targetUrls[0]: host \"169.254.169.254\" is a blocked address: cloud metadata (169.254.169.254/32)" in msgs
}

test_every_blocked_ipv4_range_is_caught_at_its_edges if {
	every url in [
		"http://0.0.0.0/", "http://10.255.255.255/", "http://100.64.0.0/", "http://100.127.255.255/",
		"http://127.0.0.1/", "http://172.16.0.0/", "http://172.31.255.255/", "http://192.168.0.1/",
		"http://224.0.0.1/", "http://255.255.255.255/",
	] {
		count(deny_url(url)) > 0
	}
}

test_ipv6_loopback_in_brackets_with_port if {
	"spec.targetUrls[0]: host \"::1\" is a blocked address: loopback (::1/128)" in deny_url("http://[::1]:8080/")
}

test_ipv6_ranges if {
	"spec.targetUrls[0]: host \"fe80::1\" is a blocked address: link-local (fe80::/10)" in deny_url("http://[FE80::1]/")
	"spec.targetUrls[0]: host \"fd00:ec2::254\" is a blocked address: private (unique local) (fc00::/7)" in deny_url("http://[fd00:ec2::254]/")
	"spec.targetUrls[0]: host \"::\" is a blocked address: unspecified (::/128)" in deny_url("http://[::]/")
}

test_ipv4_mapped_ipv6_is_judged_as_its_ipv4 if {
	"spec.targetUrls[0]: host \"::ffff:10.0.0.1\" is a blocked address: private (10.0.0.0/8)" in deny_url("http://[::ffff:10.0.0.1]/")
	"spec.targetUrls[0]: host \"::ffff:7f00:1\" is a blocked address: loopback (127.0.0.0/8)" in deny_url("http://[::ffff:7f00:1]/")
}

test_malformed_ipv6_is_invalid if {
	every host in ["1::2::3", ":::", "1:2:3:4:5:6:7:8:9", "12345::", "fe80::1%25eth0", "::ffff:999.0.0.1"] {
		concat("", ["spec.targetUrls[0]: host \"", host, "\" is not a valid IPv6 address"]) in deny_url(concat("", ["http://[", host, "]/"]))
	}
}

test_ipv4_shorthands_are_refused if {
	every host in ["127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.0.0.01", "1.2.3.4.5", "example.0x"] {
		concat("", ["spec.targetUrls[0]: host \"", host, "\" is not a canonical IPv4 address (four decimal numbers 0-255)"]) in deny_url(concat("", ["http://", host, "/"]))
	}
}

test_cluster_internal_names if {
	"spec.targetUrls[0]: host \"localhost\" is cluster-internal (matches \"localhost\")" in deny_url("http://LOCALHOST./")
	"spec.targetUrls[0]: host \"minio.default.svc\" is cluster-internal (matches \"svc\")" in deny_url("http://minio.default.svc:9000/")
	"spec.targetUrls[0]: host \"kubernetes.default.svc.cluster.local\" is cluster-internal (matches \"cluster.local\")" in deny_url("https://kubernetes.default.svc.cluster.local/")
	"spec.targetUrls[0]: host \"metadata.google.internal\" is cluster-internal (matches \"internal\")" in deny_url("http://metadata.google.internal/")
}

test_a_suffix_matches_whole_labels_only if {
	config := configured({"internal_host_suffixes": ["corp.example.com"]})
	"spec.targetUrls[0]: host \"git.corp.example.com\" is cluster-internal (matches \"corp.example.com\")" in deny_under({"targetUrls": ["https://git.corp.example.com/"]}, settings, config)
	count(deny_under({"targetUrls": ["https://notcorp.example.com/"]}, settings, config)) == 0
}

test_names_outside_the_public_top_level_domains if {
	"spec.targetUrls[0]: host \"kubernetes.default\" ends in \"default\", which is not a public top-level domain (public_tlds)" in deny_url("https://kubernetes.default/")
	"spec.targetUrls[0]: host \"127-0-0-1.default.pod\" ends in \"pod\", which is not a public top-level domain (public_tlds)" in deny_url("http://127-0-0-1.default.pod/")
	"spec.targetUrls[0]: host \"localhost.localdomain\" ends in \"localdomain\", which is not a public top-level domain (public_tlds)" in deny_url("http://localhost.localdomain/")
	"spec.targetUrls[0]: host \"nas.home.arpa\" ends in \"arpa\", which is not a public top-level domain (public_tlds)" in deny_url("http://nas.home.arpa/")
}

test_names_under_public_top_level_domains_pass if {
	every url in ["https://example.co.uk/", "https://xn--80ak6aa92e.xn--p1ai/", "https://go.dev/", "https://EXAMPLE.COM./"] {
		count(deny_url(url)) == 0
	}
}

test_the_top_level_domains_come_from_the_configuration if {
	config := configured({"public_tlds": ["com"]})
	count(deny_under({"targetUrls": ["https://example.com/"]}, settings, config)) == 0
	"spec.targetUrls[0]: host \"example.org\" ends in \"org\", which is not a public top-level domain (public_tlds)" in deny_under({"targetUrls": ["https://example.org/"]}, settings, config)
}

test_ports_outside_1_to_65535_are_refused if {
	every port in ["0", "65536", "99999", "080", "00"] {
		concat("", ["spec.targetUrls[0]: port \"", port, "\" is not a port number (1-65535, no leading zeros)"]) in deny_url(concat("", ["https://example.com:", port, "/"]))
	}
	"spec.targetUrls[0]: port \"0\" is not a port number (1-65535, no leading zeros)" in deny_url("http://[2606:4700:4700::1111]:0/")
	every url in ["https://example.com:1/", "https://example.com:65535/", "https://example.com:/", "http://[2606:4700:4700::1111]:443/"] {
		count(deny_url(url)) == 0
	}
}

test_ipv6_transition_forms_reach_ipv4_and_are_refused if {
	"spec.targetUrls[0]: host \"::127.0.0.1\" is a blocked address: IPv4-compatible (deprecated, reaches IPv4) (::/96)" in deny_url("http://[::127.0.0.1]/")
	"spec.targetUrls[0]: host \"::ffff:0:7f00:1\" is a blocked address: IPv4-translated (reaches IPv4) (::ffff:0:0:0/96)" in deny_url("http://[::ffff:0:7f00:1]/")
	"spec.targetUrls[0]: host \"::ffff:8.8.8.8\" is a blocked address: IPv4-mapped (reaches IPv4) (::ffff:0:0/96)" in deny_url("http://[::ffff:8.8.8.8]/")
	"spec.targetUrls[0]: host \"64:ff9b:1::7f00:1\" is a blocked address: local-use NAT64 (reaches IPv4) (64:ff9b:1::/48)" in deny_url("http://[64:ff9b:1::7f00:1]/")
	"spec.targetUrls[0]: host \"2002:7f00:1::\" is a blocked address: 6to4 (reaches IPv4) (2002::/16)" in deny_url("http://[2002:7f00:1::]/")
	"spec.targetUrls[0]: host \"2001::1\" is a blocked address: Teredo (reaches IPv4) (2001::/32)" in deny_url("http://[2001::1]/")
	"spec.targetUrls[0]: host \"fec0::1\" is a blocked address: site-local (deprecated) (fec0::/10)" in deny_url("http://[fec0::1]/")
}

test_ipv4_special_purpose_ranges if {
	"spec.targetUrls[0]: host \"198.18.0.1\" is a blocked address: benchmarking (198.18.0.0/15)" in deny_url("http://198.18.0.1/")
	"spec.targetUrls[0]: host \"192.0.0.192\" is a blocked address: IETF protocol assignments (192.0.0.0/24)" in deny_url("http://192.0.0.192/")
	"spec.targetUrls[0]: host \"203.0.113.7\" is a blocked address: documentation (TEST-NET-3) (203.0.113.0/24)" in deny_url("http://203.0.113.7/")
	"spec.targetUrls[0]: host \"255.255.255.255\" is a blocked address: limited broadcast (255.255.255.255/32)" in deny_url("http://255.255.255.255/")
}

test_single_label_names_are_cluster_services if {
	"spec.targetUrls[0]: host \"minio\" is a single-label name, which resolves to a cluster Service" in deny_url("http://minio:9000/")
}

test_localhost_is_reported_once if {
	count(deny_url("http://localhost/")) == 1
}

test_schemes if {
	"spec.targetUrls[0]: scheme \"ftp\" is not allowed (allowed: https, http)" in deny_url("ftp://example.com/")
	"spec.targetUrls[0]: \"javascript:alert(1)\" is not an absolute URL (scheme://host/...)" in deny_url("javascript:alert(1)")
}

test_hosts_that_are_not_plain_names if {
	"spec.targetUrls[0]: host \"user@example.com\" has user info (user@host), which is not allowed" in deny_url("http://user@example.com/")
	"spec.targetUrls[0]: host \"ex%41mple.com\" is not a valid host (letters, digits, dots and hyphens, or [IPv6])" in deny_url("http://ex%41mple.com/")
	"spec.targetUrls[0]: host \"a..b\" is not a valid host name" in deny_url("http://a..b/")
}

test_too_many_targets if {
	msgs := deny_under({"targetUrls": ["https://a.example/", "https://b.example/"]}, settings, configured({"max_targets": 1}))
	"spec.targetUrls: 2 URLs, more than max_targets (1)" in msgs
}

test_no_targets if {
	"spec.targetUrls: at least one URL is required" in deny({"targetUrls": []})
}

test_denied_hosts_match_the_domain_and_subdomains if {
	config := configured({"denied_hosts": ["*.example.com"]})
	"spec.targetUrls[0]: host \"a.example.com\" is in denied_hosts (*.example.com)" in deny_under({"targetUrls": ["https://a.example.com/"]}, settings, config)
	count(deny_under({"targetUrls": ["https://badexample.com/"]}, settings, config)) == 0
}

test_allowed_hosts_narrow_the_targets if {
	config := configured({"allowed_hosts": ["example.com"]})
	count(deny_under({"targetUrls": ["https://docs.example.com/"]}, settings, config)) == 0
	"spec.targetUrls[0]: host \"other.org\" is not in allowed_hosts" in deny_under({"targetUrls": ["https://other.org/"]}, settings, config)
}

test_allowed_hosts_never_readmit_a_private_address if {
	count(deny_under({"targetUrls": ["http://10.0.0.1/"]}, settings, configured({"allowed_hosts": ["10.0.0.1"]}))) > 0
}

test_image_registry if {
	"spec.agentImage: image \"docker.io/evil/agent:1\" is not from an allowed registry (ghcr.io/agentic-dev, docker.io/library/python)" in deny({"agentImage": "docker.io/evil/agent:1"})
	count(deny({"agentImage": "ghcr.io/agentic-dev/agent@sha256:0123"})) == 0
}

test_the_default_image_is_checked_when_the_spec_has_none if {
	msgs := deny_under({}, object.union(settings, {"defaultAgentImage": "quay.io/x/agent:1"}), data.agentic.config)
	"settings.defaultAgentImage: image \"quay.io/x/agent:1\" is not from an allowed registry (ghcr.io/agentic-dev, docker.io/library/python)" in msgs
}

test_a_registry_prefix_matches_whole_path_components if {
	count(deny({"agentImage": "ghcr.io/agentic-devil/agent:1"})) == 1
}

test_docker_hub_shorthand_is_spelled_out if {
	admission.repository("nginx:1.27") == "docker.io/library/nginx"
	admission.repository("bitnami/nginx") == "docker.io/bitnami/nginx"
	admission.repository("registry.local:5000/team/agent:1@sha256:ab") == "registry.local:5000/team/agent"
	admission.repository("localhost/agent") == "localhost/agent"
}

test_bucket_pattern if {
	"spec.minioBucket: bucket \"Bad_Bucket\" does not match bucket_pattern ^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$" in deny({"minioBucket": "Bad_Bucket"})
	count(deny({"minioBucket": "team-a-results"})) == 0
}

test_allowed_buckets if {
	config := configured({"allowed_buckets": ["agentic-artifacts"]})
	"spec.minioBucket: bucket \"other\" is not in allowed_buckets" in deny_under({"minioBucket": "other"}, settings, config)
	count(deny_under({}, settings, config)) == 0
}

test_a_missing_config_key_denies if {
	config := object.remove(data.agentic.config, ["max_targets"])
	"data.agentic.config.max_targets: expected number, found null" in deny_under({}, settings, config)
}

test_a_bad_network_in_config_denies if {
	config := configured({"blocked_networks": {"10.0.0.0/33": "private"}})
	"data.agentic.config.blocked_networks: \"10.0.0.0/33\" is not an IPv4 or IPv6 CIDR" in deny_under({}, settings, config)
}

# Networks written as data.json does not (so checked by parsing, not by one pattern):
# read and used when valid, named when not.
test_networks_in_other_forms_are_parsed if {
	config := configured({"blocked_networks": {"::ffff:10.0.0.0/104": "mapped private", "10.0.0.0/8,::1/128": "two in one"}})
	deny_under({"targetUrls": ["http://[::ffff:10.0.0.1]/"]}, settings, config) == {
		"data.agentic.config.blocked_networks: \"10.0.0.0/8,::1/128\" is not an IPv4 or IPv6 CIDR",
		"spec.targetUrls[0]: host \"::ffff:10.0.0.1\" is a blocked address: mapped private (::ffff:10.0.0.0/104)",
	}
}

test_a_network_set_to_null_is_not_blocked if {
	networks := object.union(data.agentic.config.blocked_networks, {"10.0.0.0/8": null})
	count(deny_under({"targetUrls": ["http://10.0.0.1/"]}, settings, configured({"blocked_networks": networks}))) == 0
}
