"""The one exception type a user should ever see from the command line."""


class ZooError(Exception):
    """A problem with the user's input, stated with what to do about it.

    The command-line verbs print the message on one line and exit with status 2, without a
    traceback. Raise it only before anything in a run directory has been changed.
    """
