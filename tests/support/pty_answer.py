"""Runs a program under a pseudo-terminal and answers one prompt, for tests of interactive commands
(`c3 apply` asks before it writes only when stdin is a terminal).

usage: pty_answer.py PROMPT ANSWER PROGRAM [ARG...]

The program's stdin, stdout and stderr are the terminal (200 columns by 50 rows); it inherits our
environment and working directory. Everything it writes to the terminal is copied to our stdout
(terminal style: CR LF line ends, the typed answer echoed). Once PROMPT has appeared in that
output, ANSWER and Enter are typed, once; a program that never prints PROMPT is never answered.
We exit with the program's exit code (128 + N if signal N killed it).

A guard (env PTY_ANSWER_TIMEOUT, seconds, default 300) kills a program that outlives it, so a
test fails instead of hanging; nothing else depends on time.
"""

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    prompt, answer, command = argv[0].encode(), argv[1].encode(), argv[2:]
    timeout = float(os.environ.get("PTY_ANSWER_TIMEOUT", "300"))

    pid, fd = pty.fork()
    if pid == 0:  # the child: fds 0, 1 and 2 are the terminal's slave side
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
            os.execvp(command[0], command)
        except OSError as e:
            os.write(2, f"pty_answer.py: cannot run {command[0]}: {e}\n".encode())
        os._exit(127)

    output = bytearray()
    answered = False
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            os.kill(pid, signal.SIGKILL)
            output += f"\npty_answer.py: killed after {timeout:.0f} s\n".encode()
            break
        ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: every slave fd is closed, the program is done
            break
        if not data:
            break
        output += data
        if not answered and prompt in output:
            os.write(fd, answer + b"\r")  # Enter (the terminal turns CR into NL)
            answered = True

    _, status = os.waitpid(pid, 0)
    os.close(fd)
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
