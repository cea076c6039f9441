# Unit tests for agentic.lib.
package agentic.lib_test

import data.agentic.lib

test_numbers_from_decimal_text_and_json_numbers if {
	lib.number("0.97") == 0.97
	lib.number("10") == 10
	lib.number("1e-05") == 0.00001
	lib.number(3) == 3
}

test_anything_else_is_not_a_number if {
	every value in ["", "abc", "-1", " 1", "1 ", "1_000", "0x10", "NaN", "Inf", ".5", "1.", -1, null, true, [], {}] {
		not lib.number(value)
	}
}

test_show_quotes_strings_only if {
	lib.show("a") == "\"a\""
	lib.show(5) == "5"
	lib.show(null) == "null"
}

test_config_problems_name_the_key_and_the_kind if {
	required := {"a": "strings", "b": "number", "c": "string map", "d": "string", "e": "string map"}
	problems := lib.config_problems(required) with data.agentic.config as {"a": ["x", 1], "b": 2, "c": {"k": "v", "removed": null}, "e": {"k": 1}}
	problems == {
		"data.agentic.config.a: expected strings, found array",
		"data.agentic.config.d: expected string, found null",
		"data.agentic.config.e: expected string map, found object",
	}
}

test_strings_are_arrays_of_strings_only if {
	every value in [[], ["a"], ["b", "a", ""], ["\"", "\\", "é"]] {
		lib.has_kind(value, "strings")
	}
	every value in [
		["a", null], ["a", false], ["a", true], ["b", 1, "c"], ["a", -1.5],
		["a", []], ["a", ["b"]], ["a", {}], ["a", {"b": "c"}], ["a", {"b"}],
		[null], [1], [["a"]], "a", {"a": "b"}, null,
	] {
		not lib.has_kind(value, "strings")
	}
}
