"""python -m tests.golden [--write]: check (or rewrite) the golden manifests."""

from __future__ import annotations

import sys

from tests.golden import HERE, names, render


def main() -> int:
    write = "--write" in sys.argv[1:]
    stale = []
    for name in names():
        path = HERE / name
        text = render(name)
        if write:
            path.write_text(text)
            print(f"wrote {path}")
        elif not path.exists() or path.read_text() != text:
            stale.append(name)
    for name in stale:
        print(f"stale: {name} (run `make golden`)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
