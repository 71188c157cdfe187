from enum import StrEnum


class HessianRequestEncoding(StrEnum):
    BASE64 = "base64"
    JSON = "json"

    def __str__(self) -> str:
        return str(self.value)
