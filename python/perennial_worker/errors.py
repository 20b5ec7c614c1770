"""The trainer's failures as the workflow sees them: typed, and not worth retrying."""
from temporalio.exceptions import ApplicationError


#: Messages from a trainer or a framework are cut to this many characters: they travel in workflow histories.
MAX_MESSAGE = 2000


def bounded(message: str, limit: int = MAX_MESSAGE) -> str:
    return message if len(message) <= limit else message[: limit - 20] + f"… ({len(message)} chars)"


class ConversionError(Exception):
    """The fitted model cannot become an ONNX graph perennial serves."""


def trainer_failed(message: str, traceback: str | None = None) -> ApplicationError:
    """The user's trainer raised: the same data and code fail the same way again."""
    return ApplicationError(bounded(message), *([{"traceback": traceback}] if traceback else []), type="TrainerFailed", non_retryable=True)


def trainer_params_invalid(message: str, traceback: str | None = None) -> ApplicationError:
    return ApplicationError(bounded(message), *([{"traceback": traceback}] if traceback else []), type="TrainerParamsError", non_retryable=True)


def model_not_servable(message: str) -> ApplicationError:
    return ApplicationError(bounded(message), type="ModelNotServable", non_retryable=True)


def bad_request(message: str) -> ApplicationError:
    """The activity's input breaks the contract (a bug or a foreign caller): refused, not retried."""
    return ApplicationError(bounded(message), type="TrainRequestInvalid", non_retryable=True)
