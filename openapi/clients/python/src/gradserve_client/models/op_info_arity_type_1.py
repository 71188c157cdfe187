from enum import StrEnum


class OpInfoArityType1(StrEnum):
    VARIADIC = "variadic"

    def __str__(self) -> str:
        return str(self.value)
