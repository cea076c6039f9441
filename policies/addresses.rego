# IPv4 and IPv6 addresses and networks as numbers, for admission's SSRF checks: parsing
# (the forms browsers and RFC 4291 write), the blocked networks of data.agentic.config,
# and prefix membership by exact arithmetic.
#
# A package of its own, not part of agentic.admission: the operator asks for that whole
# package, so each of its rules is evaluated on every query and sent in the answer. Here
# the blocked networks are parsed only when a target is an IP address (and when one is
# not written plainly, to say so).
package agentic.addresses

# "a.b.c.d" -> [a, b, c, d] for canonical dotted decimal only.
ipv4_words(text) := [to_number(part) | some part in split(text, ".")] if {
	regex.match(concat("", ["^", dotted_decimal, "$"]), text)
}

# Four decimal numbers 0-255 without leading zeros (which some parsers read as octal).
dotted_decimal := `((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])`

# An IPv6 address (lower case) -> its eight 16-bit words. A trailing dotted IPv4 part
# ("::ffff:10.0.0.1") is first rewritten as two hex words. Ref: RFC 4291 section 2.2
ipv6_words(text) := hex_words(concat("", [m[1], format_int((v4[0] * 256) + v4[1], 16), ":", format_int((v4[2] * 256) + v4[3], 16)])) if {
	some m in regex.find_all_string_submatch_n(`^([0-9a-f:]*:)([0-9.]+)$`, text, 1)
	v4 := ipv4_words(m[2])
} else := hex_words(text) if {
	regex.match(`^[0-9a-f:]+$`, text)
}

hex_words(text) := words if {
	not contains(text, "::")
	count(split(text, ":")) == 8
	words := groups(text)
} else := words if {
	parts := split(text, "::")
	count(parts) == 2
	head := groups(parts[0])
	tail := groups(parts[1])
	count(head) + count(tail) <= 7
	zeros := array.slice([0, 0, 0, 0, 0, 0, 0, 0], 0, 8 - (count(head) + count(tail)))
	words := array.concat(array.concat(head, zeros), tail)
}

# The words of one side of "::" (possibly empty); undefined if a group is malformed.
groups("") := []

groups(text) := [hex(group) | some group in split(text, ":")] if {
	text != ""
	every group in split(text, ":") {
		regex.match(`^[0-9a-f]{1,4}$`, group)
	}
}

# The value of one to four hex digits (lower case), read as four: "db8" is "0db8".
hex(digits) := (((((value(d[0]) * 16) + value(d[1])) * 16) + value(d[2])) * 16) + value(d[3]) if {
	d := split(substring(concat("", ["000", digits]), count(digits) - 1, 4), "")
}

value(digit) := indexof("0123456789abcdef", digit)

# ::ffff:a.b.c.d reaches the IPv4 address a.b.c.d, so it is judged as that address too.
mapped_ipv4(words) := [{"family": 4, "words": [bits.rsh(words[6], 8), bits.and(words[6], 255), bits.rsh(words[7], 8), bits.and(words[7], 255)]}] if {
	array.slice(words, 0, 6) == [0, 0, 0, 0, 0, 65535]
} else := []

# The networks of data.agentic.config.blocked_networks that hold `address`, by CIDR.
# Only those of the address's family are parsed, once a query: OPA keeps a function's
# result for the same arguments. An entry set to null is left out: with the stack config
# deep-merged over data.json, that is how a stack removes a network.
blocking(address) := {cidr |
	some cidr, label in data.agentic.config.blocked_networks
	is_string(label)
	family(cidr) == address.family
	in_network(address, parse_cidr(cidr))
}

# The family parse_cidr finds in a CIDR it reads: IPv6 has a colon, IPv4 none.
family(cidr) := 6 if contains(cidr, ":")

else := 4

parse_cidr(cidr) := {"family": 4, "words": words, "prefix": prefix} if {
	[address, length] := split(cidr, "/")
	words := ipv4_words(address)
	regex.match(`^[0-9]{1,2}$`, length)
	prefix := to_number(length)
	prefix <= 32
} else := {"family": 6, "words": words, "prefix": prefix} if {
	[address, length] := split(lower(cidr), "/")
	words := ipv6_words(address)
	regex.match(`^[0-9]{1,3}$`, length)
	prefix := to_number(length)
	prefix <= 128
}

# Whether every blocked network (but those set to null) is a CIDR written plainly, so
# none needs parsing to be known valid: every query checks them all, and one by one that
# cost ~0.2 ms. One pattern over all of them joined by commas; a comma inside one would
# make more pieces than there are networks, and fails too.
all_plain if {
	listed := [cidr | some cidr, label in data.agentic.config.blocked_networks; is_string(label)]
	joined := concat(",", listed)
	count(split(joined, ",")) == count(listed)
	regex.match(concat("", ["^", plain_cidr, "(,", plain_cidr, ")*$"]), joined)
}

# CIDRs parse_cidr reads, in the forms data.json writes: dotted-decimal IPv4, or IPv6 in
# hex groups ("G": one to four hex digits) without a dotted IPv4 tail, as eight groups or
# `head::tail` with at most four groups on one side and three on the other (so at most
# seven in all, as RFC 4291 section 2.2 allows); then a prefix length parse_cidr accepts
# (one or two digits up to 32; one to three up to 128). Not every form parse_cidr reads.
plain_cidr := concat("", [
	"(", dotted_decimal, `/([0-2]?[0-9]|3[0-2])|(`,
	replace(`G(:G){7}|(G(:G){0,3})?::(G(:G){0,2})?|(G(:G){0,2})?::(G(:G){0,3})?`, "G", "[0-9a-fA-F]{1,4}"),
	`)/([0-9]{1,2}|0[0-9]{2}|1[01][0-9]|12[0-8]))`,
])

# Whether the address lies in the network: word by word, the bits the prefix covers
# are equal. Not net.cidr_contains: Go's net package reads an IPv4-mapped network as an
# IPv4 one, so "::ffff:0:0/96" would contain every IPv4 address ("8.8.8.8").
in_network(address, network) if {
	address.family == network.family
	width := word_bits[address.family]
	every i, word in address.words {
		shift := width - covered(network.prefix - (i * width), width)
		bits.rsh(word, shift) == bits.rsh(network.words[i], shift)
	}
}

word_bits := {4: 8, 6: 16}

# How many of a word's `width` bits a prefix with `remaining` bits left covers.
covered(remaining, width) := 0 if remaining <= 0

else := remaining if remaining < width

else := width
