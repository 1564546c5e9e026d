"""JSON kept as text, encoded by msgspec so big integers stay exact."""

from typing import Any

import msgspec
from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class JsonText(TypeDecorator[Any]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _encoder.encode(value).decode()

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return _decoder.decode(value)
