"""Text that may be stored or echoed: the string types of every request field.

JSON can carry strings that no database or JSON encoder downstream accepts: an unpaired
surrogate (``"\\ud800"``) cannot be encoded as UTF-8, and a NUL cannot be stored in a PostgreSQL
text column. Both used to surface as a 500 from deep inside the service. Request fields are
therefore declared with one of these types, so a bad value is a 422 naming the field:

* :data:`Line` -- identifiers, URLs, media types, user agents: no control characters at all
  (C0, DEL and C1) and no unpaired surrogate.
* :data:`Text` -- documents given whole (a robots.txt, the head of an HTML page): tabs, line
  ends and other control characters are the document's business, but no NUL and no unpaired
  surrogate.
* :data:`HeaderValue` -- an HTTP field value (RFC 9110 5.5): horizontal tab and visible
  characters, plus obs-text; no other control character.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_HEADER_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def _check_surrogates(value: str) -> None:
    found = _SURROGATE.search(value)
    if found is not None:
        raise ValueError(f"unpaired surrogate U+{ord(found.group()):04X} at offset {found.start()}")


def check_line(value: str) -> str:
    """``value`` unchanged, or ValueError when it holds a control character or a surrogate."""
    _check_surrogates(value)
    found = _CONTROL.search(value)
    if found is not None:
        raise ValueError(
            f"control character U+{ord(found.group()):04X} at offset {found.start()}"
        )
    return value


def check_text(value: str) -> str:
    """``value`` unchanged, or ValueError when it holds a NUL or an unpaired surrogate."""
    _check_surrogates(value)
    position = value.find("\x00")
    if position >= 0:
        raise ValueError(f"NUL character at offset {position}")
    return value


def check_header_value(value: str) -> str:
    _check_surrogates(value)
    found = _HEADER_CONTROL.search(value)
    if found is not None:
        raise ValueError(
            f"control character U+{ord(found.group()):04X} at offset {found.start()}"
        )
    return value


Line = Annotated[str, AfterValidator(check_line)]
Text = Annotated[str, AfterValidator(check_text)]
HeaderValue = Annotated[str, AfterValidator(check_header_value)]
