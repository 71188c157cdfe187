from enum import StrEnum


class JacobianCallKind(StrEnum):
    JACOBIAN = "jacobian"

    def __str__(self) -> str:
        return str(self.value)
