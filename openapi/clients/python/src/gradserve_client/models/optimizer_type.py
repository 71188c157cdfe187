from enum import StrEnum


class OptimizerType(StrEnum):
    ADAGRAD = "adagrad"
    ADAM = "adam"
    ADAMW = "adamw"
    RMSPROP = "rmsprop"
    SGD = "sgd"

    def __str__(self) -> str:
        return str(self.value)
