"""The one exception type meant for users: the CLI prints it as a single line and exits with code 2."""

#: the exit status of a run stopped by Ctrl-C (128 + SIGINT, as shells report it): a parent reads it from a child
INTERRUPTED_EXIT = 130


class NeuralensError(ValueError):
    """A problem the user can fix (bad path, wrong shape, wrong checkpoint); the message says how.

    A ``ValueError`` so library callers can catch bad arguments the usual way.
    """
