from enum import StrEnum


class InputDataDtype(StrEnum):
    BOOL = "bool"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    INT64 = "int64"

    def __str__(self) -> str:
        return str(self.value)
