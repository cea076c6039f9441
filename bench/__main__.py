"""python -m bench: every benchmark, with the settings BENCHMARKS.md reports."""

from __future__ import annotations

from bench import lifecycle, operator_process


def main() -> None:
    for deny_gate in (False, True):
        print(f"## bench.lifecycle --workloads 1000{' --deny-gate' if deny_gate else ''}")
        for key, value in lifecycle.run(1000, deny_gate=deny_gate).items():
            print(f"{key}: {value}")
        print()
    print("## bench.operator_process --workloads 500")
    for key, value in operator_process.run(500).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
