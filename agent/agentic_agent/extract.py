"""Structured extraction from one HTML page with a real parser (selectolax's Lexbor, HTML5).

What a page yields (:func:`extract`): title and description, headings, tables (caption,
header, rows), lists, prices and other numbers each with the text around it, links made
absolute against the page's final URL, and the visible text. Invisible content is not
content: ``script``, ``style``, ``template``, ``noscript``, ``svg``, elements with
``hidden``, ``aria-hidden="true"`` or an inline ``display:none`` are dropped first.

Every list is capped (``MAX_ITEMS``), so a hostile page cannot make the artifact huge.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

MAX_ITEMS = 200
MAX_TEXT = 100_000
MAX_CELL = 500
_INVISIBLE = "script, style, template, noscript, svg, [hidden], [aria-hidden=true]"
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tr",
        "ul",
    ]
)
# A money amount: a currency sign or ISO code before or after a number (1,299.00 / 9,99 / 29).
_CURRENCY = r"(?P<cur>[$€£¥₹]|US\$|USD|EUR|GBP|CHF|JPY|CAD|AUD)"
_AMOUNT = r"(?P<amt>\d{1,3}(?:[,.\u00a0 ]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
_PRICE = re.compile(
    rf"{_CURRENCY}\s?{_AMOUNT}(?!\d)|(?<![\w.,]){_AMOUNT.replace('amt', 'amt2')}\s?{_CURRENCY.replace('cur', 'cur2')}(?!\w)"
)
_PERIOD = re.compile(r"(?:/|per\s+|a\s+)(month|mo|year|yr|week|day|hour|user|seat)\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*\s?(?:%|GB|TB|MB|KB|ms|s|hours?|days?|months?|years?)?(?!\w)")


def _text(node: LexborNode) -> str:
    return " ".join(node.text(separator=" ").split())


def _amount(text: str) -> float | None:
    """``1,299.00`` -> 1299.0, ``9,99`` -> 9.99, ``1.200`` -> 1200.0."""
    digits = text.replace("\u00a0", "").replace(" ", "")
    if re.fullmatch(r"\d+[.,]\d{1,2}", digits):
        return float(digits.replace(",", "."))
    if re.fullmatch(r"\d{1,3}(?:[,.]\d{3})+(?:[.,]\d{1,2})?", digits):
        head, _, tail = digits.rpartition(digits[-3] if digits[-3] in ",." else "\0")
        if head and len(tail) <= 2:
            return float(re.sub(r"[,.]", "", head) + "." + tail)
        return float(re.sub(r"[,.]", "", digits))
    try:
        return float(digits)
    except ValueError:
        return None


def _blocks(root: LexborNode) -> list[str]:
    """The text of the page grouped by its nearest block element, in document order.

    Each piece of text belongs to exactly one block, so a fact is counted once, and the
    block's text is the context a price or number is reported with. A table row is one
    block, its cells separated by `` | ``, so a price comes with its row ("Team | $29/month").
    """
    groups: dict[int, list[tuple[int, str]]] = {}
    for node in root.traverse(include_text=True):
        if node.tag != "-text":
            continue
        block, cell = node.parent, 0
        while block is not None and block.tag not in _BLOCK_TAGS and block.parent is not None:
            if block.tag in ("td", "th"):
                cell = block.mem_id
            block = block.parent
        groups.setdefault(block.mem_id if block is not None else 0, []).append((cell, node.text_content or ""))
    texts = []
    for parts in groups.values():
        pieces: list[str] = []
        for i, (cell, text) in enumerate(parts):
            if i and cell and cell != parts[i - 1][0]:
                pieces.append(" | ")
            pieces.append(text)
        if text := " ".join("".join(pieces).split()):
            texts.append(text)
    return texts


def _prices(blocks: list[str]) -> list[dict[str, Any]]:
    prices = []
    for text in blocks:
        for match in _PRICE.finditer(text):
            currency = match.group("cur") or match.group("cur2")
            amount = _amount(match.group("amt") or match.group("amt2"))
            if amount is None:
                continue
            after = text[match.end() : match.end() + 24]
            period = _PERIOD.match(after.strip()) or _PERIOD.search(after)
            prices.append(
                {
                    "text": match.group(0).strip(),
                    "currency": currency,
                    "amount": amount,
                    "period": period.group(1).lower() if period else None,
                    "context": text[:MAX_CELL],
                }
            )
            if len(prices) >= MAX_ITEMS:
                return prices
    return prices


def _numbers(blocks: list[str]) -> list[dict[str, Any]]:
    numbers = []
    for text in blocks:
        priced = [m.span() for m in _PRICE.finditer(text)]
        for match in _NUMBER.finditer(text):
            if any(start <= match.start() < end for start, end in priced):
                continue
            numbers.append({"text": match.group(0).strip(), "context": text[:MAX_CELL]})
            if len(numbers) >= MAX_ITEMS:
                return numbers
    return numbers


def _tables(root: LexborNode) -> list[dict[str, Any]]:
    tables = []
    for table in root.css("table")[:MAX_ITEMS]:
        caption = table.css_first("caption")
        rows = [
            [_text(cell)[:MAX_CELL] for cell in row.css("th, td")]
            for row in table.css("tr")
            if row.css_first("th, td") is not None
        ]
        header: list[str] = []
        first = table.css_first("tr")
        if rows and first is not None and first.css_first("td") is None:  # a row of th only
            header, rows = rows[0], rows[1:]
        tables.append({"caption": _text(caption) if caption else None, "header": header, "rows": rows[:MAX_ITEMS]})
    return tables


def _links(root: LexborNode, base: str) -> list[dict[str, str]]:
    links = []
    for anchor in root.css("a[href]"):
        href = (anchor.attributes.get("href") or "").strip()
        if not href or href.lower().startswith(("javascript:", "data:", "mailto:", "tel:", "#")):
            continue
        links.append({"href": urllib.parse.urljoin(base, href), "text": _text(anchor)[:MAX_CELL]})
        if len(links) >= MAX_ITEMS:
            break
    return links


def extract(html: str, base_url: str) -> dict[str, Any]:
    """The structured content of one page (see the module docstring)."""
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    description = tree.css_first('meta[name="description"]')
    for node in tree.css(_INVISIBLE):
        node.decompose()
    for node in tree.css("[style]"):
        if _HIDDEN_STYLE.search(node.attributes.get("style") or ""):
            node.decompose()
    root = tree.body or tree.root
    if root is None:
        return {
            "title": None,
            "description": None,
            "headings": [],
            "tables": [],
            "lists": [],
            "prices": [],
            "numbers": [],
            "links": [],
            "text": "",
        }
    blocks = _blocks(root)
    headings = [
        {"level": int((node.tag or "h0")[1]), "text": _text(node)[:MAX_CELL]}
        for node in root.css("h1, h2, h3, h4, h5, h6")
    ][:MAX_ITEMS]
    lists = [
        {"ordered": node.tag == "ol", "items": [_text(li)[:MAX_CELL] for li in node.css("li")][:MAX_ITEMS]}
        for node in root.css("ul, ol")
        if node.css_first("li") is not None
    ][:MAX_ITEMS]
    return {
        "title": _text(title_node) if title_node else None,
        "description": (description.attributes.get("content") or None) if description else None,
        "headings": headings,
        "tables": _tables(root),
        "lists": lists,
        "prices": _prices(blocks),
        "numbers": _numbers(blocks),
        "links": _links(root, base_url),
        "text": "\n".join(blocks)[:MAX_TEXT],
    }
