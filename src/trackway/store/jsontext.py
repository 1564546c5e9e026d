"""JSON kept as text by msgspec, so numbers stay exactly as they came.

Integers of any size are Python ints; other numbers are Decimals, written
out as JSON numbers with their digits untouched.
"""

from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator

_encoder = msgspec.json.Encoder(decimal_format="number")
_decoder = msgspec.json.Decoder(float_hook=Decimal)


def encode(value: Any) -> str | None:
    """The text a JsonText column stores for `value`."""
    if value is None:
        return None
    return _encoder.encode(value).decode()


class JsonText(TypeDecorator[Any]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return encode(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return _decoder.decode(value)
