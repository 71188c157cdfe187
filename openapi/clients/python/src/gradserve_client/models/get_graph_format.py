from enum import StrEnum


class GetGraphFormat(StrEnum):
    DOT = "dot"
    JSON = "json"
    SVG = "svg"

    def __str__(self) -> str:
        return str(self.value)
