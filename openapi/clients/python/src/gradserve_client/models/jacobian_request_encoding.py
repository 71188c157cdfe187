from enum import StrEnum


class JacobianRequestEncoding(StrEnum):
    BASE64 = "base64"
    JSON = "json"

    def __str__(self) -> str:
        return str(self.value)
