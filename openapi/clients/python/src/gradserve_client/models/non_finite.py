from enum import StrEnum


class NonFinite(StrEnum):
    INFINITY = "Infinity"
    NAN = "NaN"
    VALUE_2 = "-Infinity"

    def __str__(self) -> str:
        return str(self.value)
