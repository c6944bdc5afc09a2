"""Debian packages the tests need (redis-server, chromium), installed on first use.

CI runs on a fresh machine whose apt package lists may be empty, so the first
install in a process is preceded by ``apt-get update``.
"""

from __future__ import annotations

import shutil
import subprocess

__all__ = ["ensure_debian_binary"]

_ENV = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
_updated = False
APT_WAIT = ("-o", "DPkg::Lock::Timeout=600")  # another install (a parallel run) holds the lock


def ensure_debian_binary(binary: str, package: str, *, timeout: float = 900) -> str:
    """Path of ``binary``; installs ``package`` with apt-get if it is missing.

    Raises ``RuntimeError`` saying why when it cannot be had.
    """
    global _updated
    found = shutil.which(binary)
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"{binary} is missing and apt-get is not available")
    try:
        if not _updated:
            subprocess.run(
                ["apt-get", *APT_WAIT, "update", "-q"],
                check=True,
                capture_output=True,
                timeout=300,
                env=_ENV,
            )
            _updated = True
        subprocess.run(
            ["apt-get", *APT_WAIT, "install", "-y", "-q", "--no-install-recommends", package],
            check=True,
            capture_output=True,
            timeout=timeout,
            env=_ENV,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(f"apt-get install {package} failed: {exc}") from exc
    found = shutil.which(binary)
    if not found:
        raise RuntimeError(f"{binary} not on PATH after apt-get install {package}")
    return found
