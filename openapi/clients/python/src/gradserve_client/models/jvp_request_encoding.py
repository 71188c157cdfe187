from enum import StrEnum


class JvpRequestEncoding(StrEnum):
    BASE64 = "base64"
    JSON = "json"

    def __str__(self) -> str:
        return str(self.value)
