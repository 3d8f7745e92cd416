"""tfface.quiet: native (file descriptor 2) logs kept off the console, Python's own kept on."""

import os
import subprocess
import sys

SCRIPT = """
import os, sys
from tfface.quiet import quiet_script
quiet_script()
os.write(2, b"native start-up log\\n")
print("python message", file=sys.stderr)
raise RuntimeError("uncaught error")
"""


def _run(verbose: str) -> str:
    env = dict(os.environ, TFFACE_VERBOSE=verbose)
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 1
    return result.stderr


def test_quiet_script_silences_native_logs_only():
    stderr = _run("0")
    assert "native start-up log" not in stderr
    assert "python message" in stderr
    assert "RuntimeError: uncaught error" in stderr  # tracebacks still show


def test_quiet_script_verbose_keeps_native_logs():
    stderr = _run("1")
    assert "native start-up log" in stderr
    assert "python message" in stderr
