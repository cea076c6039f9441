# Helpers shared by the admission and gate policies.
package agentic.lib

# A non-negative number from a JSON number or from its decimal text (Argo output
# parameters are strings; Argo trims the one trailing newline a file usually ends with).
# Undefined for anything else, so a malformed value leaves the caller's rule undefined
# rather than raising an error. to_number only sees text this pattern accepted, so what
# a number is does not depend on what else to_number takes.
# Ref: https://www.openpolicyagent.org/docs/policy-reference/#builtin-conversions-to_number
number(value) := value if {
	is_number(value)
	value >= 0
}

number(value) := to_number(value) if {
	is_string(value)
	regex.match(`^[0-9]{1,15}(\.[0-9]{1,15})?([eE][-+]?[0-9]{1,2})?$`, value)
}

# A value as message text: a string in double quotes, anything else as sprintf's %v
# writes it.
show(value) := concat("", [`"`, value, `"`]) if is_string(value)

else := sprintf("%v", [value])

# Why data.agentic.config cannot drive the caller's checks: each key in `required` (key
# -> kind) must be present with that kind, else the check reading it would silently not
# fire (fail open). Kinds are type_name() results plus "strings" (an array of strings) and
# "string map" (an object of strings, or nulls: a deep merge can only remove a key by
# setting it to null).
config_problems(required) := {msg |
	some key
	kind := required[key]
	value := object.get(data.agentic.config, key, null)
	not has_kind(value, kind)
	msg := concat("", ["data.agentic.config.", key, ": expected ", kind, ", found ", type_name(value)])
}

# Every item is a string exactly when the least and the greatest are: OPA orders values of
# different types by type (null < boolean < number < string < array < object < set), so
# any other item would be the least or the greatest. min and max walk the array in Go:
# an `every` over public_tlds' 1436 names cost ~1 ms a query, min and max ~20 us.
# Ref: https://github.com/open-policy-agent/opa/blob/main/v1/ast/compare.go (Compare)
has_kind(value, "strings") if value == []

has_kind(value, "strings") if {
	is_array(value)
	is_string(min(value))
	is_string(max(value))
}

has_kind(value, "string map") if {
	is_object(value)
	every item in value {
		type_name(item) in {"string", "null"}
	}
}

has_kind(value, kind) if {
	not kind in {"strings", "string map"}
	type_name(value) == kind
}
