from enum import StrEnum


class HessianCallKind(StrEnum):
    HESSIAN = "hessian"

    def __str__(self) -> str:
        return str(self.value)
