"""Write IANA's list of top-level domains into policies/data.json (agentic.config.public_tlds).

    python3 hack/update_tlds.py tlds-alpha-by-domain.txt

The file is IANA's root zone list (https://data.iana.org/TLD/tlds-alpha-by-domain.txt):
a "# Version YYYYMMDDNN, ..." line, then one TLD a line in upper case, IDNs as A-labels
(xn--...). Admission refuses a target host whose last label is not in this list, so names
only a cluster, a LAN or a search path resolves (.svc, .local, .internal, kubernetes.default)
never reach an agent. `arpa` is left out: it holds reverse-DNS and infrastructure names
(RFC 3172) and home.arpa is for home networks (RFC 8375), never a page to fetch.

Only the array in data.json is rewritten, eight names a line, so a refresh shows as a
reviewable diff; say the new version in policies/README.md.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "policies" / "data.json"
LEFT_OUT = {"arpa"}
_KEY = re.compile(r'"public_tlds": \[[^\]]*\]')
_LABEL = re.compile(r"^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


def read(text: str) -> tuple[str, list[str]]:
    """IANA's version line and the TLDs it lists (lower case, sorted, without LEFT_OUT)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# Version "):
        raise SystemExit("not IANA's tlds-alpha-by-domain.txt: no '# Version' line first")
    names = sorted({line.lower() for line in lines[1:]} - LEFT_OUT)
    bad = [name for name in names if not _LABEL.match(name)]
    if bad or len(names) < 1000:
        raise SystemExit(f"unexpected content: {len(names)} names, malformed {bad[:5]}")
    return lines[0], names


def rewrite(data: str, names: list[str]) -> str:
    rows = [", ".join(json.dumps(n) for n in names[i : i + 8]) for i in range(0, len(names), 8)]
    array = '"public_tlds": [\n' + ",\n".join(f"        {row}" for row in rows) + "\n      ]"
    updated, count = _KEY.subn(lambda _: array, data)
    if count != 1:
        raise SystemExit(f"{DATA}: expected one public_tlds array, found {count}")
    assert json.loads(updated)["agentic"]["config"]["public_tlds"] == names
    return updated


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit(__doc__)
    version, names = read(Path(argv[0]).read_text())
    DATA.write_text(rewrite(DATA.read_text(), names))
    print(f"{DATA}: {len(names)} top-level domains from IANA's list, {version.removeprefix('# ')}")


if __name__ == "__main__":
    main(sys.argv[1:])
