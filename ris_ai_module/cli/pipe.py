"""Standard output read by a pipe that closed early (``ris-ai-module parse-sr FILE | head -1``).

The reader has what it wanted: the command ends quietly, as a Unix tool killed by SIGPIPE does (exit status
141, no message), instead of a BrokenPipeError traceback. Only standard output counts: a broken pipe to a
database, a peer or a helper process is an error like any other and is reported.
"""

from __future__ import annotations

import os
import select
import sys

#: What a shell shows for a command ended by SIGPIPE (128 + 13).
EXIT_PIPE = 141


def stdout_gone() -> bool:
    """Whether standard output is a pipe (or socket) whose reader has closed it."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    try:
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def silence_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass
