# Unit tests for agentic.gate: `opa test policies/` runs them (so does `make test`,
# through tests/policy/test_opa_cli.py).
package agentic.gate_test

import data.agentic.gate

# What the analysis steps report on a good run.
good := {
	"scraper": {"pages-fetched": "10", "pages-failed": "1"},
	"screenshot-extractor": {"screenshots": "10"},
	"dom-extractor": {"confidence": "0.97", "elements": "42"},
}

# The gate's decision for the outputs, threshold and failed step count given.
decide(outputs, threshold, failed, config) := result if {
	progress := {"progress": "3/5", "total": 5, "succeeded": 3, "failed": failed}
	result := {"allow": gate.allow, "reasons": gate.reasons} with input.outputs as outputs with input.threshold as threshold with input.progress as progress with data.agentic.config as config
}

# The decision on a good run with one output parameter replaced (object.union merges
# nested objects key by key).
with_output(step, param, value) := decide(object.union(good, {step: {param: value}}), 0.95, 0, data.agentic.config)

test_a_good_run_is_approved_with_the_checks_as_reasons if {
	result := decide(good, 0.95, 0, data.agentic.config)
	result.allow
	result.reasons == {
		"outputs.dom-extractor.confidence: \"0.97\" meets the auto-approve threshold 0.95",
		"outputs.dom-extractor.elements: \"42\" is at least min_elements (1)",
		"outputs.scraper.pages-failed: \"1\" failed and \"10\" fetched, within max_failed_page_ratio (0.2)",
		"outputs.scraper.pages-fetched: \"10\" is at least min_pages_fetched (1)",
		"outputs.screenshot-extractor.screenshots: \"10\" is at least min_screenshots (1)",
		"progress.failed: 0 step(s) failed, at most max_failed_steps (0)",
	}
}

test_confidence_below_the_threshold_needs_a_human if {
	result := with_output("dom-extractor", "confidence", "0.80")
	not result.allow
	result.reasons == {"outputs.dom-extractor.confidence: \"0.80\" is below the auto-approve threshold 0.95"}
}

test_confidence_at_the_threshold_is_enough if {
	with_output("dom-extractor", "confidence", "0.95").allow
}

test_the_threshold_is_the_workloads if {
	decide(good, 0.99, 0, data.agentic.config).reasons == {"outputs.dom-extractor.confidence: \"0.97\" is below the auto-approve threshold 0.99"}
}

test_confidence_above_one_is_suspect if {
	"outputs.dom-extractor.confidence: \"1.5\" is above 1" in with_output("dom-extractor", "confidence", "1.5").reasons
}

test_malformed_numbers_need_a_human if {
	every value in ["abc", "", "-0.5", "0.9 ", "1_0", "0x1", "NaN", "1e400"] {
		result := with_output("dom-extractor", "confidence", value)
		not result.allow
		concat("", ["outputs.dom-extractor.confidence: \"", value, "\" is not a non-negative number"]) in result.reasons
	}
}

test_numbers_may_be_json_numbers if {
	decide(
		{
			"scraper": {"pages-fetched": 10, "pages-failed": 0},
			"screenshot-extractor": {"screenshots": 3},
			"dom-extractor": {"confidence": 0.97, "elements": 42},
		},
		0.95, 0, data.agentic.config,
	).allow
}

test_a_missing_output_needs_a_human if {
	result := decide(json.remove(good, ["screenshot-extractor/screenshots"]), 0.95, 0, data.agentic.config)
	not result.allow
	result.reasons == {"outputs.screenshot-extractor.screenshots: missing (the step did not report it)"}
}

test_no_outputs_at_all_need_a_human if {
	result := decide({}, 0.95, 0, data.agentic.config)
	not result.allow
	count(result.reasons) == 5
}

test_a_bad_threshold_needs_a_human if {
	every threshold in [1.5, -0.1, "x", null] {
		"threshold: missing or not a number between 0 and 1" in decide(good, threshold, 0, data.agentic.config).reasons
	}
}

test_too_few_pages if {
	result := decide(object.union(good, {"scraper": {"pages-fetched": "0", "pages-failed": "0"}}), 0.95, 0, data.agentic.config)
	not result.allow
	result.reasons == {"outputs.scraper.pages-fetched: \"0\" is below min_pages_fetched (1)"}
}

test_too_many_failed_pages if {
	result := with_output("scraper", "pages-failed", "3")
	not result.allow
	result.reasons == {"outputs.scraper.pages-failed: \"3\" failed and \"10\" fetched, more than max_failed_page_ratio (0.2) of the pages"}
}

test_failed_pages_within_the_ratio if {
	with_output("scraper", "pages-failed", "2").allow
}

test_too_few_screenshots_and_elements if {
	"outputs.screenshot-extractor.screenshots: \"0\" is below min_screenshots (1)" in with_output("screenshot-extractor", "screenshots", "0").reasons
	"outputs.dom-extractor.elements: \"0\" is below min_elements (1)" in with_output("dom-extractor", "elements", "0").reasons
}

test_failed_steps_need_a_human if {
	result := decide(good, 0.95, 1, data.agentic.config)
	not result.allow
	result.reasons == {"progress.failed: 1 step(s) failed, more than max_failed_steps (0)"}
}

test_minimums_come_from_the_configuration if {
	config := object.union(data.agentic.config, {"min_screenshots": 20})
	"outputs.screenshot-extractor.screenshots: \"10\" is below min_screenshots (20)" in decide(good, 0.95, 0, config).reasons
}

test_a_missing_config_key_needs_a_human if {
	result := decide(good, 0.95, 0, object.remove(data.agentic.config, ["min_elements"]))
	not result.allow
	"data.agentic.config.min_elements: expected number, found null" in result.reasons
}

test_expected_outputs_are_the_pipelines if {
	gate.expected_outputs == {
		"scraper": ["pages-fetched", "pages-failed"],
		"screenshot-extractor": ["screenshots"],
		"dom-extractor": ["confidence", "elements"],
	}
}
