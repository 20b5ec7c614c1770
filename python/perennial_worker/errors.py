"""The trainer's failures as the workflow sees them: typed, and not worth retrying."""
from temporalio.exceptions import ApplicationError


class ConversionError(Exception):
    """The fitted model cannot become an ONNX graph perennial serves."""


def trainer_failed(message: str, traceback: str | None = None) -> ApplicationError:
    """The user's trainer raised: the same data and code fail the same way again."""
    return ApplicationError(message, *([{"traceback": traceback}] if traceback else []), type="TrainerFailed", non_retryable=True)


def trainer_params_invalid(message: str, traceback: str | None = None) -> ApplicationError:
    return ApplicationError(message, *([{"traceback": traceback}] if traceback else []), type="TrainerParamsError", non_retryable=True)


def model_not_servable(message: str) -> ApplicationError:
    return ApplicationError(message, type="ModelNotServable", non_retryable=True)


def bad_request(message: str) -> ApplicationError:
    """The activity's input breaks the contract (a bug or a foreign caller): refused, not retried."""
    return ApplicationError(message, type="TrainRequestInvalid", non_retryable=True)
