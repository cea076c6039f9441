# Approval gate: may the operator approve the Workflow waiting at the gate by itself?
#
# Input (agentic_operator/decision.py): the admission input plus
#   "threshold": spec.autoApproveThreshold,
#   "progress": {"progress": "3/4", "total": 4, "succeeded": 3, "failed": 0},
#   "outputs": {<step>: {<output parameter>: <string>}}   (finished steps only)
# `allow` means auto-approve. Not allowed means a human must decide, not that the work
# failed. `reasons` explain the decision either way: what falls short (or is missing or
# malformed) when a human must decide, what was checked when it is approved.
package agentic.gate

import data.agentic.lib

# An alias, not a rule (see admission.rego): the package document is the answer.
import data.agentic.config as cfg

outputs := input.outputs if is_object(input.outputs)

else := {}

default allow := false

allow if {
	count(problems) == 0
	count(passes) > 0
}

reasons := problems if count(problems) > 0

else := passes

problems contains msg if {
	some msg in lib.config_problems({
		"min_pages_fetched": "number",
		"max_failed_page_ratio": "number",
		"min_screenshots": "number",
		"min_elements": "number",
		"max_failed_steps": "number",
	})
}

# The output parameters the gate weighs, by step: agentic_contract.pipeline.STEP_OUTPUTS.
expected_outputs := {
	"scraper": ["pages-fetched", "pages-failed"],
	"screenshot-extractor": ["screenshots"],
	"dom-extractor": ["confidence", "elements"],
}

# Each expected output as reported, keyed "<step>.<parameter>".
reported[key] := value if {
	some step, params in expected_outputs
	some param in params
	value := object.get(outputs, [step, param], null)
	key := concat(".", [step, param])
}

# The reported outputs that are non-negative numbers, as numbers.
measured[key] := lib.number(value) if {
	some key, value in reported
}

problems contains concat("", ["outputs.", key, ": missing (the step did not report it)"]) if {
	some key, value in reported
	value == null
}

problems contains concat("", ["outputs.", key, ": ", lib.show(value), " is not a non-negative number"]) if {
	some key, value in reported
	value != null
	not measured[key]
}

# ---------------------------------------------------------------------------------------
# Confidence against the workload's own threshold

threshold := t if {
	t := lib.number(input.threshold)
	t <= 1
}

problems contains "threshold: missing or not a number between 0 and 1" if not threshold

problems contains concat("", ["outputs.dom-extractor.confidence: ", lib.show(reported["dom-extractor.confidence"]), " is above 1"]) if {
	measured["dom-extractor.confidence"] > 1
}

problems contains concat("", ["outputs.dom-extractor.confidence: ", lib.show(reported["dom-extractor.confidence"]), " is below the auto-approve threshold ", lib.show(input.threshold)]) if {
	measured["dom-extractor.confidence"] < threshold
}

passes contains concat("", ["outputs.dom-extractor.confidence: ", lib.show(reported["dom-extractor.confidence"]), " meets the auto-approve threshold ", lib.show(input.threshold)]) if {
	confidence := measured["dom-extractor.confidence"]
	confidence >= threshold
	confidence <= 1
}

# ---------------------------------------------------------------------------------------
# Counts the analysis steps report, against data.agentic.config minimums

minimums := {
	"scraper.pages-fetched": "min_pages_fetched",
	"screenshot-extractor.screenshots": "min_screenshots",
	"dom-extractor.elements": "min_elements",
}

problems contains concat("", ["outputs.", key, ": ", lib.show(reported[key]), " is below ", setting, " (", lib.show(cfg[setting]), ")"]) if {
	some key, setting in minimums
	measured[key] < cfg[setting]
}

passes contains concat("", ["outputs.", key, ": ", lib.show(reported[key]), " is at least ", setting, " (", lib.show(cfg[setting]), ")"]) if {
	some key, setting in minimums
	measured[key] >= cfg[setting]
}

# Failed pages as a share of all pages tried (fetched + failed), compared without
# dividing so that no page at all is not a division by zero.
failed_pages := concat("", ["outputs.scraper.pages-failed: ", lib.show(reported["scraper.pages-failed"]), " failed and ", lib.show(reported["scraper.pages-fetched"]), " fetched"])

problems contains concat("", [failed_pages, ", more than max_failed_page_ratio (", lib.show(cfg.max_failed_page_ratio), ") of the pages"]) if {
	failed := measured["scraper.pages-failed"]
	failed > cfg.max_failed_page_ratio * (failed + measured["scraper.pages-fetched"])
}

passes contains concat("", [failed_pages, ", within max_failed_page_ratio (", lib.show(cfg.max_failed_page_ratio), ")"]) if {
	failed := measured["scraper.pages-failed"]
	failed <= cfg.max_failed_page_ratio * (failed + measured["scraper.pages-fetched"])
}

# ---------------------------------------------------------------------------------------
# Steps that failed before the gate

failed_steps := lib.number(input.progress.failed)

problems contains "progress.failed: missing or not a non-negative number" if not failed_steps

problems contains concat("", ["progress.failed: ", lib.show(failed_steps), " step(s) failed, more than max_failed_steps (", lib.show(cfg.max_failed_steps), ")"]) if {
	failed_steps > cfg.max_failed_steps
}

passes contains concat("", ["progress.failed: ", lib.show(failed_steps), " step(s) failed, at most max_failed_steps (", lib.show(cfg.max_failed_steps), ")"]) if {
	failed_steps <= cfg.max_failed_steps
}
