"""python -m bench: every benchmark, with the settings BENCHMARKS.md reports."""

from __future__ import annotations

from bench import lifecycle


def main() -> None:
    for deny_gate in (False, True):
        print(f"## bench.lifecycle --workloads 1000{' --deny-gate' if deny_gate else ''}")
        for key, value in lifecycle.run(1000, deny_gate=deny_gate).items():
            print(f"{key}: {value}")
        print()


if __name__ == "__main__":
    main()
