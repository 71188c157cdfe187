from enum import StrEnum


class GraphNodeKind(StrEnum):
    GRAD_FN = "grad_fn"
    LEAF = "leaf"
    OUTPUT = "output"

    def __str__(self) -> str:
        return str(self.value)
