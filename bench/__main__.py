"""python -m bench (make bench): every benchmark, with the settings BENCHMARKS.md reports.

Bounded: the 2,000-workload runs take about 3 minutes per operator and repeat, the
20,000 run (ours only) about 10. The scale comparison uses the stand-in policy
(bench/policies-allow) so that it measures the operators; the drain through the real
policies/ follows, beside bare kopf's (which asks no policy), so the ratio is taken in
one run.
"""

from __future__ import annotations

from bench import lifecycle, operator_process, scale, seed
from testkit.operator_process import ROOT


def main() -> None:
    for deny_gate, step in ((False, 0.0), (False, lifecycle.COALESCE), (True, 0.0)):
        flags = (" --deny-gate" if deny_gate else "") + (f" --step-seconds {step:g}" if step else "")
        print(f"## python -m bench.lifecycle --workloads 1000{flags}")
        for key, value in lifecycle.run(1000, deny_gate=deny_gate, step_seconds=step).items():
            print(f"{key}: {value}")
        print(flush=True)
    print("## python -m bench.operator_process --workloads 500", flush=True)
    for key, value in operator_process.run(500).items():
        print(f"{key}: {value}")
    print(flush=True)
    comparison = "--workloads 2000 --repeat 1 --only ours --only bare --only bare-tuned --policies bench/policies-allow"
    print(f"## python -m bench.scale {comparison}", flush=True)
    scale.run(scale.parser().parse_args(comparison.split()))
    drain = "--workloads 2000 --repeat 2 --only ours --only bare --drain-only --policies policies"
    print(f"\n## python -m bench.scale {drain}", flush=True)
    scale.run(scale.parser().parse_args(drain.split()))
    many = "--workloads 20000 --repeat 1 --only ours --policies bench/policies-allow"
    print(f"\n## python -m bench.scale {many}", flush=True)
    scale.run(scale.parser().parse_args(many.split()))
    print("\n## python -m bench.seed --workloads 1000", flush=True)
    for result in seed.run(1000, settle=40, window=60, policies=ROOT / "bench" / "policies-allow"):
        print(result)


if __name__ == "__main__":
    main()
