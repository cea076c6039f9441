# Unit tests for agentic.addresses (the SSRF tables in tests/policy/test_ssrf.py judge it
# against Python's ipaddress through admission).
package agentic.addresses_test

import data.agentic.addresses

test_cidr_matching_at_word_boundaries if {
	addresses.in_network({"family": 4, "words": [172, 31, 0, 1]}, addresses.parse_cidr("172.16.0.0/12"))
	not addresses.in_network({"family": 4, "words": [172, 32, 0, 1]}, addresses.parse_cidr("172.16.0.0/12"))
	addresses.in_network({"family": 6, "words": [65215, 0, 0, 0, 0, 0, 0, 1]}, addresses.parse_cidr("fe80::/10"))
	not addresses.in_network({"family": 6, "words": [65216, 0, 0, 0, 0, 0, 0, 1]}, addresses.parse_cidr("fe80::/10"))
}

test_ipv6_parsing if {
	addresses.ipv6_words("::") == [0, 0, 0, 0, 0, 0, 0, 0]
	addresses.ipv6_words("2001:db8::ff00:42:8329") == [8193, 3512, 0, 0, 0, 65280, 66, 33577]
	addresses.ipv6_words("1:2:3:4:5:6:7::") == [1, 2, 3, 4, 5, 6, 7, 0]
	addresses.ipv6_words("::ffff:192.0.2.1") == [0, 0, 0, 0, 0, 65535, 49152, 513]
}

# CIDRs in plain forms, in forms only parsing reads, and near misses.
cidrs := [
	"0.0.0.0/0", "10.0.0.0/8", "255.255.255.255/32", "10.0.0.0/08", "10.0.0.0/00", "1.2.3.4/9",
	"10.0.0.0/33", "10.0.0.0/", "10.0.0.0", "10.0.0.0/8/8", "010.0.0.0/8", "256.0.0.0/8",
	"1.2.3/8", "1.2.3.4.5/8", "10.0.0.0/-1", "10.0.0.0/ 8", " 10.0.0.0/8", "10.0.0.0/8\n",
	"::/0", "::/128", "::1/128", "::/129", "::/000", "::/099", "::/0128", "::/1000",
	"1:2:3:4:5:6:7:8/64", "1:2:3:4:5:6:7::/64", "::2:3:4:5:6:7:8/64", "1::8/64",
	"1:2:3:4:5:6:7:8:9/64", "1:2:3:4:5:6:7/64", "1:2:3:4::5:6:7:8/64", "1::2::3/64",
	"1:2:3:4:5:6:7::8/64", "1::2:3:4:5:6:7:8/64", "::1:2:3:4:5:6:7:8/64", "1:2:3::6:7:8/64",
	"1:2:3:4::6:7:8/64", "1:2:3::5:6:7:8/64", "1:2:3:4::5:6:7/64", "::ffff:0:0:0/96",
	"100:0:0:1::/64", "1:2:3:4:5::/64", "::2:3:4:5:6/64", "1:2:3:4:5::8/64",
	":::/64", "::::/64", ":1::/64", "1::2:/64", "1:/64", ":1/64", "12345::/16", "g::/16",
	"2001:DB8::/32", "FE80::/10", "fe80::1%eth0/64", "64:ff9b::/96", "2001:db8:0:0:0:0:0:0/32",
	"::ffff:0:0/96", "::ffff:10.0.0.0/104", "::10.0.0.0/104", "1:2:3:4:5:6:10.0.0.0/120",
	"1:2:3:4:5:6:7:10.0.0.0/120", "::ffff:010.0.0.0/104", "::ffff:10.0.0/104", "::FFFF:1.2.3.4/128",
	"::1.2.3.4.5/128", "", "/", "/8", "a/8", "::/", "::", "10.0.0.0/8,10.0.0.0/8",
]

parsed := {text | some text in cidrs; addresses.parse_cidr(text)}

plain := {text | some text in cidrs; regex.match(concat("", ["^", addresses.plain_cidr, "$"]), text)}

test_plain_cidrs_are_cidrs if {
	plain - parsed == set()
	count(plain) >= 10
	count(parsed - plain) > 0
}

test_the_default_networks_are_plain if {
	addresses.all_plain
}

test_all_plain_needs_every_network_plain if {
	every text in cidrs {
		expected := text in plain
		all_plain_with({"10.0.0.0/8": "private", text: "label"}) == expected
	}
}

test_all_plain_is_not_fooled_by_commas if {
	not all_plain_with({"10.0.0.0/8,::1/128": "two in one"})
	not all_plain_with({"10.0.0.0/8": "private", "10.0.0.0/8,10.0.0.0/33": "two in one"})
	not all_plain_with({})
}

test_all_plain_ignores_removed_networks if {
	all_plain_with({"10.0.0.0/8": "private", "not a cidr": null})
}

all_plain_with(networks) if {
	addresses.all_plain with data.agentic.config.blocked_networks as networks
} else := false
