from enum import StrEnum


class HvpCallKind(StrEnum):
    HVP = "hvp"

    def __str__(self) -> str:
        return str(self.value)
