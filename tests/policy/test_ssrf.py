"""SSRF at admission, decided by the real OPA: what an agent must never be sent to, and
what it may.

- ``REGISTRY``: every block of IANA's IPv4 and IPv6 special-purpose address registries
  (RFC 6890), plus the IPv6 forms that reach IPv4 and the deprecated ones the registry
  no longer lists: the first and the last address of each must be refused.
- ``MUST_DENY``: targets, each with the reason it must be refused for (every example of
  issue 11 among them): cluster names, the pod's DNS search path, address spellings,
  transition forms, ports.
- ``MUST_ADMIT``: public targets, admitted with no reason.
- ``blocked_networks`` means what Python's ``ipaddress`` says it means (the agent checks
  resolved addresses against the same key at connect time), over boundary and random
  addresses, and everything ``ipaddress`` calls non-global is among what it blocks.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
from collections.abc import Iterator

import pytest

from agentic_operator.decision import ADMISSION
from components import bundle
from testkit.opa import OpaFor, OpaServer
from tests.policy.cases import admission_input

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

CONFIG = bundle.config_section(bundle.policy_data()) or {}
BLOCKED = {ipaddress.ip_network(cidr): cidr for cidr, label in CONFIG.get("blocked_networks", {}).items() if label}

# (block, name in the registry, reference)
REGISTRY = [
    # https://www.iana.org/assignments/iana-ipv4-special-registry
    ("0.0.0.0/8", "this network", "RFC 791"),
    ("0.0.0.0/32", "this host on this network", "RFC 1122"),
    ("10.0.0.0/8", "private-use", "RFC 1918"),
    ("100.64.0.0/10", "shared address space", "RFC 6598"),
    ("127.0.0.0/8", "loopback", "RFC 1122"),
    ("169.254.0.0/16", "link local", "RFC 3927"),
    ("172.16.0.0/12", "private-use", "RFC 1918"),
    ("192.0.0.0/24", "IETF protocol assignments", "RFC 6890"),
    ("192.0.0.0/29", "IPv4 service continuity prefix", "RFC 7335"),
    ("192.0.0.8/32", "IPv4 dummy address", "RFC 7600"),
    ("192.0.0.9/32", "port control protocol anycast", "RFC 7723"),
    ("192.0.0.10/32", "traversal using relays around NAT anycast", "RFC 8155"),
    ("192.0.0.170/32", "NAT64/DNS64 discovery", "RFC 8880"),
    ("192.0.0.171/32", "NAT64/DNS64 discovery", "RFC 8880"),
    ("192.0.2.0/24", "documentation (TEST-NET-1)", "RFC 5737"),
    ("192.31.196.0/24", "AS112-v4", "RFC 7535"),
    ("192.52.193.0/24", "AMT", "RFC 7450"),
    ("192.88.99.0/24", "deprecated (6to4 relay anycast)", "RFC 7526"),
    ("192.168.0.0/16", "private-use", "RFC 1918"),
    ("192.175.48.0/24", "direct delegation AS112 service", "RFC 7534"),
    ("198.18.0.0/15", "benchmarking", "RFC 2544"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)", "RFC 5737"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)", "RFC 5737"),
    ("240.0.0.0/4", "reserved", "RFC 1112"),
    ("255.255.255.255/32", "limited broadcast", "RFC 919"),
    # not special-purpose but never a web page: the multicast registry
    ("224.0.0.0/4", "multicast", "RFC 5771"),
    # https://www.iana.org/assignments/iana-ipv6-special-registry
    ("::1/128", "loopback address", "RFC 4291"),
    ("::/128", "unspecified address", "RFC 4291"),
    ("::ffff:0:0/96", "IPv4-mapped address", "RFC 4291"),
    ("64:ff9b::/96", "IPv4-IPv6 translation", "RFC 6052"),
    ("64:ff9b:1::/48", "local-use IPv4/IPv6 translation", "RFC 8215"),
    ("100::/64", "discard-only address block", "RFC 6666"),
    ("100:0:0:1::/64", "dummy IPv6 prefix", "IANA"),
    ("2001::/23", "IETF protocol assignments", "RFC 2928"),
    ("2001::/32", "TEREDO", "RFC 4380"),
    ("2001:1::1/128", "port control protocol anycast", "RFC 7723"),
    ("2001:1::2/128", "traversal using relays around NAT anycast", "RFC 8155"),
    ("2001:1::3/128", "DNS-SD service registration protocol anycast", "IANA"),
    ("2001:2::/48", "benchmarking", "RFC 5180"),
    ("2001:3::/32", "AMT", "RFC 7450"),
    ("2001:4:112::/48", "AS112-v6", "RFC 7535"),
    ("2001:10::/28", "deprecated (previously ORCHID)", "RFC 4843"),
    ("2001:20::/28", "ORCHIDv2", "RFC 7343"),
    ("2001:30::/28", "drone remote ID protocol entity tags", "RFC 9374"),
    ("2001:db8::/32", "documentation", "RFC 3849"),
    ("2002::/16", "6to4", "RFC 3056"),
    ("2620:4f:8000::/48", "direct delegation AS112 service", "RFC 7534"),
    ("3fff::/20", "documentation", "RFC 9637"),
    ("5f00::/16", "segment routing (SRv6) SIDs", "RFC 9602"),
    ("fc00::/7", "unique-local", "RFC 4193"),
    ("fe80::/10", "link-local unicast", "RFC 4291"),
    # the IPv6 forms that reach IPv4, and blocks the registry no longer lists
    ("::/96", "IPv4-compatible (deprecated)", "RFC 4291 2.5.5.1"),
    ("::ffff:0:0:0/96", "IPv4-translated", "RFC 2765"),
    ("fec0::/10", "site-local (deprecated)", "RFC 3879"),
    ("ff00::/8", "multicast", "RFC 4291"),
]

BLOCKED_ADDRESS = "is a blocked address"
NOT_PUBLIC = "which is not a public top-level domain (public_tlds)"
SINGLE_LABEL = "is a single-label name, which resolves to a cluster Service"
INTERNAL = "is cluster-internal"
NOT_CANONICAL = "is not a canonical IPv4 address"
BAD_IPV6 = "is not a valid IPv6 address"
BAD_HOST = "is not a valid host"
BAD_PORT = "is not a port number (1-65535, no leading zeros)"
USER_INFO = "has user info"
SCHEME = "is not allowed (allowed: https, http)"
NOT_ABSOLUTE = "is not an absolute URL"

# (target, what its reasons must contain)
MUST_DENY = [
    # issue 11's examples
    ("https://kubernetes.default/", NOT_PUBLIC),
    ("http://minio.agentic-system:9000/", NOT_PUBLIC),
    ("http://argo-workflows-server.argo:2746/", NOT_PUBLIC),
    ("http://kube-dns.kube-system:9153/metrics", NOT_PUBLIC),
    ("http://127-0-0-1.default.pod/", NOT_PUBLIC),
    ("http://localhost.localdomain/", NOT_PUBLIC),
    ("http://[::127.0.0.1]/", "IPv4-compatible (deprecated, reaches IPv4) (::/96)"),
    ("http://[64:ff9b:1::7f00:1]/", "local-use NAT64 (reaches IPv4) (64:ff9b:1::/48)"),
    ("http://[2002:7f00:1::]/", "6to4 (reaches IPv4) (2002::/16)"),
    ("http://198.18.0.1/", "benchmarking (198.18.0.0/15)"),
    ("http://192.0.0.192/", "IETF protocol assignments (192.0.0.0/24)"),
    ("https://example.com:0/", BAD_PORT),
    ("https://example.com:65536/", BAD_PORT),
    # the API server, Services and pods through the pod's DNS search path
    ("https://kubernetes/", SINGLE_LABEL),
    ("https://kubernetes:443/api", SINGLE_LABEL),
    ("https://KUBERNETES.DEFAULT/", NOT_PUBLIC),
    ("https://kubernetes.default.svc/", INTERNAL),
    ("https://kubernetes.default.svc./", INTERNAL),
    ("https://kubernetes.default.svc.cluster.local/", INTERNAL),
    ("http://minio/", SINGLE_LABEL),
    ("http://minio:9000/", SINGLE_LABEL),
    ("http://minio.agentic-system/", NOT_PUBLIC),
    ("http://minio.agentic-system.svc:9000/", INTERNAL),
    ("http://minio.agentic-system.svc.cluster.local:9000/", INTERNAL),
    ("http://argo-workflows-server.argo.svc:2746/", INTERNAL),
    ("http://kube-dns.kube-system.svc.cluster.local:9153/metrics", INTERNAL),
    ("http://agentic-operator.agentic-system:8080/metrics", NOT_PUBLIC),
    ("http://litellm.agentic-system:4000/", NOT_PUBLIC),
    ("http://browserless.agentic-system:3000/", NOT_PUBLIC),
    ("http://10-0-0-1.team-a.pod/", NOT_PUBLIC),
    ("http://10-0-0-1.team-a.pod.cluster.local/", INTERNAL),
    ("http://web-0.nginx.team-a/", NOT_PUBLIC),
    ("http://web-0.nginx.team-a.svc.cluster.local/", INTERNAL),
    ("http://prometheus.monitoring:9090/", NOT_PUBLIC),
    ("http://grafana.monitoring/", NOT_PUBLIC),
    ("http://etcd.kube-system:2379/", NOT_PUBLIC),
    ("http://x.cluster.local/", INTERNAL),
    ("http://foo.svc/", INTERNAL),
    # names only a LAN, a host or a cloud resolves
    ("http://localhost/", INTERNAL),
    ("http://localhost:8080/", INTERNAL),
    ("http://LOCALHOST./", INTERNAL),
    ("http://app.localhost/", INTERNAL),
    ("http://localdomain/", SINGLE_LABEL),
    ("http://host.localdomain/", NOT_PUBLIC),
    ("http://printer.local/", NOT_PUBLIC),
    ("http://nas.lan/", NOT_PUBLIC),
    ("http://router.home/", NOT_PUBLIC),
    ("http://nas.home.arpa/", NOT_PUBLIC),
    ("http://1.0.0.127.in-addr.arpa/", NOT_PUBLIC),
    ("http://git.corp/", NOT_PUBLIC),
    ("http://intranet.intra/", NOT_PUBLIC),
    ("http://metadata.google.internal/computeMetadata/v1/", INTERNAL),
    ("http://metadata/computeMetadata/v1/", SINGLE_LABEL),
    ("http://instance-data/latest/", SINGLE_LABEL),
    ("http://instance-data.ec2.internal/", INTERNAL),
    ("http://ip-10-0-0-1.ec2.internal/", INTERNAL),
    ("http://ip-10-0-0-1.eu-west-1.compute.internal/", INTERNAL),
    ("http://host.docker.internal/", INTERNAL),
    ("http://x.test/", NOT_PUBLIC),
    ("http://x.example/", NOT_PUBLIC),
    ("http://x.invalid/", NOT_PUBLIC),
    ("http://x.onion/", NOT_PUBLIC),
    ("http://x.alt/", NOT_PUBLIC),
    ("http://consul.service.consul/", NOT_PUBLIC),
    ("http://vault.service.dc1.consul:8200/", NOT_PUBLIC),
    # IPv4 special-purpose addresses as written
    ("http://0.0.0.0/", "unspecified (0.0.0.0/8)"),
    ("http://0.0.0.0:8080/", "unspecified (0.0.0.0/8)"),
    ("http://0.255.255.255/", "unspecified (0.0.0.0/8)"),
    ("http://10.0.0.1/", "private (10.0.0.0/8)"),
    ("http://10.96.0.1/", "private (10.0.0.0/8)"),
    ("http://10.255.255.255/", "private (10.0.0.0/8)"),
    ("http://100.64.0.1/", "shared (CGNAT) (100.64.0.0/10)"),
    ("http://100.127.255.254/", "shared (CGNAT) (100.64.0.0/10)"),
    ("http://127.0.0.1/", "loopback (127.0.0.0/8)"),
    ("http://127.0.0.1./", "loopback (127.0.0.0/8)"),
    ("http://127.1.2.3:8181/v1/data", "loopback (127.0.0.0/8)"),
    ("http://127.255.255.254/", "loopback (127.0.0.0/8)"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata (169.254.169.254/32)"),
    ("http://169.254.170.2/v2/credentials", "link-local (169.254.0.0/16)"),
    ("http://169.254.0.1/", "link-local (169.254.0.0/16)"),
    ("http://172.16.0.1/", "private (172.16.0.0/12)"),
    ("http://172.17.0.1/", "private (172.16.0.0/12)"),
    ("http://172.31.255.255/", "private (172.16.0.0/12)"),
    ("http://192.0.0.1/", "IETF protocol assignments (192.0.0.0/24)"),
    ("http://192.0.0.8/", "IETF protocol assignments (192.0.0.0/24)"),
    ("http://192.0.0.170/", "IETF protocol assignments (192.0.0.0/24)"),
    ("http://192.0.2.1/", "documentation (TEST-NET-1) (192.0.2.0/24)"),
    ("http://192.31.196.1/", "AS112 (192.31.196.0/24)"),
    ("http://192.52.193.1/", "AMT (192.52.193.0/24)"),
    ("http://192.88.99.1/", "6to4 relay anycast (deprecated) (192.88.99.0/24)"),
    ("http://192.168.0.1/", "private (192.168.0.0/16)"),
    ("http://192.168.49.2:8443/", "private (192.168.0.0/16)"),
    ("http://192.175.48.1/", "AS112 direct delegation (192.175.48.0/24)"),
    ("http://198.19.255.255/", "benchmarking (198.18.0.0/15)"),
    ("http://198.51.100.7/", "documentation (TEST-NET-2) (198.51.100.0/24)"),
    ("http://203.0.113.9/", "documentation (TEST-NET-3) (203.0.113.0/24)"),
    ("http://224.0.0.1/", "multicast (224.0.0.0/4)"),
    ("http://239.255.255.250:1900/", "multicast (224.0.0.0/4)"),
    ("http://240.0.0.1/", "reserved (240.0.0.0/4)"),
    ("http://255.255.255.254/", "reserved (240.0.0.0/4)"),
    ("http://255.255.255.255/", "limited broadcast (255.255.255.255/32)"),
    # IPv4 spelled the ways a browser or libc would decode
    ("http://127.1/", NOT_CANONICAL),
    ("http://127.0.1/", NOT_CANONICAL),
    ("http://2130706433/", NOT_CANONICAL),
    ("http://0x7f000001/", NOT_CANONICAL),
    ("http://0x7f.0.0.1/", NOT_CANONICAL),
    ("http://0177.0.0.1/", NOT_CANONICAL),
    ("http://017700000001/", NOT_CANONICAL),
    ("http://127.0.0.01/", NOT_CANONICAL),
    ("http://127.000.000.001/", NOT_CANONICAL),
    ("http://0/", NOT_CANONICAL),
    ("http://0.0/", NOT_CANONICAL),
    ("http://256.0.0.1/", NOT_CANONICAL),
    ("http://1.2.3.4.5/", NOT_CANONICAL),
    ("http://169.254.169.254.nip.io.0/", NOT_CANONICAL),
    ("http://%31%32%37.0.0.1/", BAD_HOST),
    ("http://127%2e0%2e0%2e1/", BAD_HOST),
    ("http://\uff11\uff12\uff17.0.0.1/", BAD_HOST),  # full-width digits, which WHATWG maps to 127
    ("http://①②⑦.0.0.1/", BAD_HOST),
    # IPv6 as written, every spelling
    ("http://[::1]/", "loopback (::1/128)"),
    ("http://[::1]:8080/", "loopback (::1/128)"),
    ("http://[0:0:0:0:0:0:0:1]/", "loopback (::1/128)"),
    ("http://[0000:0000:0000:0000:0000:0000:0000:0001]/", "loopback (::1/128)"),
    ("http://[::]/", "unspecified (::/128)"),
    ("http://[::ffff:127.0.0.1]/", "loopback (127.0.0.0/8)"),
    ("http://[::ffff:7f00:1]/", "IPv4-mapped (reaches IPv4) (::ffff:0:0/96)"),
    ("http://[::FFFF:7F00:1]/", "loopback (127.0.0.0/8)"),
    ("http://[0:0:0:0:0:ffff:127.0.0.1]/", "loopback (127.0.0.0/8)"),
    ("http://[::ffff:169.254.169.254]/", "cloud metadata (169.254.169.254/32)"),
    ("http://[::ffff:a9fe:a9fe]/", "cloud metadata (169.254.169.254/32)"),
    ("http://[::ffff:8.8.8.8]/", "IPv4-mapped (reaches IPv4) (::ffff:0:0/96)"),
    ("http://[::ffff:0:127.0.0.1]/", "IPv4-translated (reaches IPv4) (::ffff:0:0:0/96)"),
    ("http://[::ffff:0:7f00:1]/", "IPv4-translated (reaches IPv4) (::ffff:0:0:0/96)"),
    ("http://[::7f00:1]/", "IPv4-compatible (deprecated, reaches IPv4) (::/96)"),
    ("http://[::8.8.8.8]/", "IPv4-compatible (deprecated, reaches IPv4) (::/96)"),
    ("http://[::a9fe:a9fe]/", "IPv4-compatible (deprecated, reaches IPv4) (::/96)"),
    ("http://[64:ff9b::127.0.0.1]/", "NAT64 (reaches IPv4) (64:ff9b::/96)"),
    ("http://[64:ff9b::7f00:1]/", "NAT64 (reaches IPv4) (64:ff9b::/96)"),
    ("http://[64:ff9b::a9fe:a9fe]/", "NAT64 (reaches IPv4) (64:ff9b::/96)"),
    ("http://[64:ff9b::808:808]/", "NAT64 (reaches IPv4) (64:ff9b::/96)"),
    ("http://[64:ff9b:1::a00:1]/", "local-use NAT64 (reaches IPv4) (64:ff9b:1::/48)"),
    ("http://[2002:a9fe:a9fe::1]/", "6to4 (reaches IPv4) (2002::/16)"),
    ("http://[2002:c000:204::1]/", "6to4 (reaches IPv4) (2002::/16)"),
    ("http://[2001::1]/", "Teredo (reaches IPv4) (2001::/32)"),
    ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo (reaches IPv4) (2001::/32)"),
    ("http://[2001:1::1]/", "IETF protocol assignments (2001::/23)"),
    ("http://[2001:2::1]/", "IETF protocol assignments (2001::/23)"),
    ("http://[2001:3::1]/", "IETF protocol assignments (2001::/23)"),
    ("http://[2001:4:112::1]/", "IETF protocol assignments (2001::/23)"),
    ("http://[2001:10::1]/", "IETF protocol assignments (2001::/23)"),
    ("http://[2001:20::1]/", "IETF protocol assignments (2001::/23)"),
    ("http://[2001:db8::1]/", "documentation (2001:db8::/32)"),
    ("http://[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]/", "documentation (2001:db8::/32)"),
    ("http://[3fff::1]/", "documentation (3fff::/20)"),
    ("http://[100::1]/", "discard-only (100::/64)"),
    ("http://[100:0:0:1::1]/", "dummy prefix (100:0:0:1::/64)"),
    ("http://[2620:4f:8000::1]/", "AS112 direct delegation (2620:4f:8000::/48)"),
    ("http://[5f00::1]/", "segment routing (SRv6) SIDs (5f00::/16)"),
    ("http://[fc00::1]/", "private (unique local) (fc00::/7)"),
    ("http://[fd00::1]/", "private (unique local) (fc00::/7)"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "private (unique local) (fc00::/7)"),
    ("http://[fe80::1]/", "link-local (fe80::/10)"),
    ("http://[FE80::1]/", "link-local (fe80::/10)"),
    ("http://[febf:ffff::1]/", "link-local (fe80::/10)"),
    ("http://[fec0::1]/", "site-local (deprecated) (fec0::/10)"),
    ("http://[ff02::1]/", "multicast (ff00::/8)"),
    ("http://[ff05::1:3]/", "multicast (ff00::/8)"),
    ("http://[1::1]/", "not IPv6 global unicast (outside 2000::/3) (::/3)"),
    ("http://[4000::1]/", "not IPv6 global unicast (outside 2000::/3) (4000::/2)"),
    ("http://[8000::1]/", "not IPv6 global unicast (outside 2000::/3) (8000::/1)"),
    ("http://[fe80::1%25eth0]/", BAD_IPV6),
    ("http://[fe80::1%eth0]/", BAD_IPV6),
    ("http://[::127.1]/", BAD_IPV6),
    ("http://[1::2::3]/", BAD_IPV6),
    ("http://[127.0.0.1]/", BAD_IPV6),
    ("http://[::ffff:127.0.0.256]/", BAD_IPV6),
    ("http://::1/", BAD_HOST),
    # ports
    ("https://example.com:00/", BAD_PORT),
    ("https://example.com:080/", BAD_PORT),
    ("https://example.com:99999/", BAD_PORT),
    ("https://example.com:4294967377/", BAD_PORT),
    ("http://[2606:4700:4700::1111]:0/", BAD_PORT),
    ("http://[2606:4700:4700::1111]:65536/", BAD_PORT),
    ("https://example.com:-1/", BAD_HOST),
    ("https://example.com:443:443/", BAD_HOST),
    ("https://example.com:http/", BAD_HOST),
    # one host written to look like another
    ("http://example.com@127.0.0.1/", USER_INFO),
    ("http://127.0.0.1@example.com/", USER_INFO),
    ("http://user:pass@example.com/", USER_INFO),
    ("http://example.com\\@127.0.0.1/", USER_INFO),
    ("http://127.0.0.1#@example.com/", "loopback (127.0.0.0/8)"),
    ("http://127.0.0.1?@example.com/", "loopback (127.0.0.0/8)"),
    ("http://127.0.0.1/@example.com/", "loopback (127.0.0.0/8)"),
    ("http://127.0.0.1\t.example.com/", BAD_HOST),
    ("http://exa mple.com/", BAD_HOST),
    ("http://-evil.example.com/", "is not a valid host name"),
    ("http://a..b.example.com/", "is not a valid host name"),
    # schemes and shapes a fetcher might follow
    ("file:///etc/passwd", SCHEME),
    ("gopher://127.0.0.1:6379/_INFO", SCHEME),
    ("dict://127.0.0.1:11211/stats", SCHEME),
    ("ftp://example.com/", SCHEME),
    ("ws://example.com/", SCHEME),
    ("jar:http://example.com!/", NOT_ABSOLUTE),
    ("http:/127.0.0.1/", NOT_ABSOLUTE),
    ("//127.0.0.1/", NOT_ABSOLUTE),
    ("127.0.0.1", NOT_ABSOLUTE),
]

MUST_ADMIT = [
    "https://example.com/",
    "https://example.com./",
    "HTTPS://EXAMPLE.COM/",
    "https://www.example.com:443/path?q=1#frag",
    "http://example.com:80/",
    "https://example.com:1/",
    "https://example.com:8443/",
    "https://example.com:65535/",
    "https://example.com:/",
    "https://en.wikipedia.org/wiki/Server-side_request_forgery",
    "https://docs.python.org/3/",
    "https://github.com/open-policy-agent/opa",
    "https://news.bbc.co.uk/",
    "https://example.co.jp/",
    "https://a.b.c.d.example.com/",
    "https://xn--80ak6aa92e.xn--p1ai/",
    "https://xn--bcher-kva.de/",
    "https://go.dev/",
    "https://web.app/",
    "https://openai.ai/",
    "https://example.museum/",
    "https://example.travel/",
    "https://example.io/",
    "https://my-site-1.example.org/",
    "https://1password.com/",
    "https://123.example.com/",
    "https://internal.example.com/",
    "https://svc.example.com/",
    "https://localhost.example.com/",
    "https://kubernetes.io/docs/",
    "https://" + ".".join(["a" * 63] * 3) + ".com/",
    "http://8.8.8.8/",
    "http://1.1.1.1/",
    "http://9.9.9.9:53/",
    "http://93.184.215.14/",
    "http://11.0.0.1/",
    "http://100.63.255.255/",
    "http://100.128.0.1/",
    "http://126.255.255.255/",
    "http://128.0.0.1/",
    "http://169.253.255.255/",
    "http://169.255.0.1/",
    "http://172.15.255.255/",
    "http://172.32.0.1/",
    "http://191.255.255.255/",
    "http://192.0.1.1/",
    "http://192.0.3.0/",
    "http://192.88.98.255/",
    "http://192.167.255.255/",
    "http://192.169.0.1/",
    "http://198.17.255.255/",
    "http://198.20.0.1/",
    "http://198.51.99.255/",
    "http://198.51.101.0/",
    "http://203.0.112.255/",
    "http://203.0.114.0/",
    "http://223.255.255.255/",
    "http://[2606:4700:4700::1111]/",
    "http://[2606:4700:4700::1111]:8080/",
    "http://[2001:4860:4860::8888]/",
    "http://[2001:4860:4860:0:0:0:0:8888]/",
    "http://[2001:200::1]/",
    "http://[2001:db9::1]/",
    "http://[2003::1]/",
    "http://[2620:4f:7fff::1]/",
    "http://[2a00:1450:4001:82b::200e]/",
    "http://[3ffe:ffff::1]/",
    "http://[3fff:1000::1]/",
]


def reasons_for(opa: OpaServer, url: str) -> tuple[bool, tuple[str, ...]]:
    decision = opa.client().evaluate(ADMISSION, admission_input(targetUrls=[url]))
    return decision.allowed, decision.reasons


@pytest.mark.parametrize(("url", "why"), MUST_DENY, ids=[url for url, _ in MUST_DENY])
def test_refused(opa: OpaServer, url: str, why: str) -> None:
    allowed, reasons = reasons_for(opa, url)
    assert not allowed
    assert [r for r in reasons if r.startswith("spec.targetUrls[0]: ") and why in r], reasons


@pytest.mark.parametrize("url", MUST_ADMIT)
def test_admitted(opa: OpaServer, url: str) -> None:
    assert reasons_for(opa, url) == (True, ())


def url_for(address: Address) -> str:
    return f"http://[{address}]/" if address.version == 6 else f"http://{address}/"


@pytest.mark.parametrize(("block", "name", "reference"), REGISTRY, ids=[f"{b} {n}" for b, n, _ in REGISTRY])
def test_every_special_purpose_block_is_refused_at_both_ends(
    opa: OpaServer, block: str, name: str, reference: str
) -> None:
    network = ipaddress.ip_network(block)
    for address in (network.network_address, network.broadcast_address):
        allowed, reasons = reasons_for(opa, url_for(address))
        assert not allowed and any(BLOCKED_ADDRESS in r for r in reasons), (address, reasons)


def expected_blocks(address: Address) -> set[str]:
    """The blocked_networks entries an agent finds for ``address`` with Python's ipaddress:
    the address itself, and an IPv4-mapped one also as its IPv4."""
    candidates: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        candidates.append(address.ipv4_mapped)
    return {
        cidr for network, cidr in BLOCKED.items() for a in candidates if a.version == network.version and a in network
    }


def not_global(address: Address) -> bool:
    """Whatever Python's ipaddress calls special is never a public web server."""
    flags = ("is_private", "is_reserved", "is_multicast", "is_link_local", "is_loopback", "is_unspecified")
    return any(getattr(address, flag) for flag in flags) or not address.is_global


def _edges(network: Network) -> Iterator[Address]:
    first, last = int(network.network_address), int(network.broadcast_address)
    top = 2**network.max_prefixlen - 1
    for value in (first - 1, first, first + 1, last - 1, last, last + 1):
        if 0 <= value <= top:
            yield ipaddress.ip_address(value) if network.version == 4 else ipaddress.IPv6Address(value)


def sample() -> list[Address]:
    """Both sides of every edge of every blocked network and registry block, and random
    addresses (IPv6 mostly in 2000::/3, where the blocks are few), and IPv4-mapped forms."""
    rng = random.Random(6890)
    registry = [ipaddress.ip_network(block) for block, _, _ in REGISTRY]
    addresses = {a for network in [*BLOCKED, *registry] for a in _edges(network)}
    addresses |= {ipaddress.IPv4Address(rng.getrandbits(32)) for _ in range(400)}
    addresses |= {ipaddress.IPv6Address((1 << 125) | rng.getrandbits(125)) for _ in range(300)}
    addresses |= {ipaddress.IPv6Address(rng.getrandbits(128)) for _ in range(100)}
    mapped = [ipaddress.IPv6Address(f"::ffff:{a}") for a in addresses if a.version == 4]
    return sorted(addresses | set(mapped[:200]), key=lambda a: (a.version, int(a)))


_BLOCKED_MESSAGE = re.compile(r'^spec\.targetUrls\[(\d+)\]: host "[^"]*" is a blocked address: .* \(([^()]+)\)$')


def test_blocked_networks_mean_what_pythons_ipaddress_says(opa_for: OpaFor) -> None:
    """The agent checks resolved addresses against the same blocked_networks with Python's
    ipaddress: for each address, OPA names exactly the entries ipaddress finds (one query
    over all of them), and every address ipaddress calls non-global is refused."""
    addresses = sample()
    assert len(addresses) > 1000
    client = opa_for({"max_targets": len(addresses)}).client(timeout=30)
    decision = client.evaluate(ADMISSION, admission_input(targetUrls=[url_for(a) for a in addresses]))
    found: dict[int, set[str]] = {i: set() for i in range(len(addresses))}
    for reason in decision.reasons:
        match = _BLOCKED_MESSAGE.match(reason)
        assert match, f"not a blocked-address message: {reason}"
        found[int(match.group(1))].add(match.group(2))
    wrong = {str(a): (found[i], expected_blocks(a)) for i, a in enumerate(addresses) if found[i] != expected_blocks(a)}
    assert not wrong, json.dumps({k: [sorted(o), sorted(p)] for k, (o, p) in list(wrong.items())[:10]}, indent=1)
    admitted_special = [str(a) for i, a in enumerate(addresses) if not found[i] and not_global(a)]
    assert not admitted_special


def test_blocked_networks_are_strict_cidrs_with_labels() -> None:
    """The agent reads the same key: every entry a CIDR Python parses strictly (no host
    bits), each network once, labelled with text (null only where a stack removes one)."""
    entries = CONFIG["blocked_networks"]
    networks = [ipaddress.ip_network(cidr, strict=True) for cidr in entries]
    assert len(set(networks)) == len(networks)
    assert all(isinstance(label, str) and label for label in entries.values())
    assert [str(n) for n in networks] == list(entries)  # written as ipaddress writes them


def test_public_tlds_are_the_root_zones() -> None:
    """IANA's list (hack/update_tlds.py): lower-case labels, sorted, once each; the names
    reserved for local or special use (RFC 2606, 6761, 6762, 7686, 8375, 9476) and the
    ones clusters and clouds use inside are not in it."""
    tlds = CONFIG["public_tlds"]
    assert tlds == sorted(set(tlds)) and len(tlds) > 1000
    assert all(re.fullmatch(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}", t) for t in tlds)
    assert {"com", "org", "net", "io", "dev", "app", "uk", "de", "jp", "xn--p1ai"} <= set(tlds)
    local = {"arpa", "local", "localhost", "localdomain", "internal", "test", "example", "invalid", "onion", "alt"}
    cluster = {"svc", "pod", "cluster", "default", "kube-system", "home", "lan", "corp", "intra", "consul"}
    assert not (local | cluster) & set(tlds)
