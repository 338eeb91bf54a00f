"""What a job sees: the host paths it may read by level, and its whole environment."""

from __future__ import annotations

SYSTEM_READ_ONLY = (
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/bin",
    "/sbin",
    "/sys",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/fonts",
)
# At the basic level these are the host's own; Landlock allows reading them.
BASIC_EXTRA_READ_ONLY = ("/proc", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf")


def cover(paths: list[str]) -> tuple[str, ...]:
    """Drop paths already inside another listed path."""
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return tuple(kept)


def job_env(scratch: str, strong: bool, mpl_dir: str, threads: int) -> dict[str, str]:
    """Return a job's whole environment (nothing of the runner's own is passed on)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": scratch,
        "TMPDIR": "/tmp" if strong else scratch,  # noqa: S108 - the jail's private /tmp
        "LANG": "C.UTF-8",
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": mpl_dir,
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "CUDA_VISIBLE_DEVICES": "",
    }
