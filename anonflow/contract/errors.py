"""Errors a user can cause and fix; the CLI prints them as one line, never as a traceback."""


class AnonflowError(Exception):
    """An expected mistake (bad path, bad config, missing model). The message is the whole story."""


class ModelFileError(AnonflowError):
    """A model file is missing, unreadable, or does not match the manifest's sha256."""


class InputError(AnonflowError):
    """An input (video, entries file, configuration) cannot be used as given."""
