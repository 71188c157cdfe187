from enum import StrEnum


class JvpCallKind(StrEnum):
    JVP = "jvp"

    def __str__(self) -> str:
        return str(self.value)
