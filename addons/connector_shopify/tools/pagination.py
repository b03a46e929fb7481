"""REST cursor pagination: the ``Link`` response header.

``<https://shop/admin/api/2026-07/orders.json?limit=50&page_info=abc>;
rel="next", <...page_info=xyz>; rel="previous"``
"""

import re

_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")
_REL = re.compile(r"""rel\s*=\s*"?([^";,]+)"?""")


def parse_link_header(value):
    """``{rel: url}`` of a Link header (every rel of a multi-rel link)."""
    links = {}
    for match in _LINK.finditer(value or ""):
        url, params = match.group(1).strip(), match.group(2)
        for rel_match in _REL.finditer(params):
            for rel in rel_match.group(1).split():
                links.setdefault(rel.lower(), url)
    return links


def next_page_url(value):
    return parse_link_header(value).get("next")
