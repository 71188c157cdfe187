from enum import StrEnum


class GradCallKind(StrEnum):
    GRAD = "grad"

    def __str__(self) -> str:
        return str(self.value)
