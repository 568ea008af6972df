"""Install uv into the running interpreter's environment at the version uv.lock pins.

`make install` and the Dockerfile's builder stage run this with the virtualenv's (or image's)
Python before `uv sync`: uv is itself a locked dev dependency, so the tool that installs the
lock comes from the lock too, verified against its recorded hashes. Nothing is done when that
version is already installed.

Usage: python scripts/bootstrap_uv.py [path/to/uv.lock]
"""

import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

LOCK_FILE = Path(__file__).resolve().parent.parent / "uv.lock"


def locked_requirement(lock_path: Path, name: str = "uv") -> str:
    """``name==version --hash=...`` for every file uv.lock records for that package."""
    lock = tomllib.loads(lock_path.read_text())
    for package in lock.get("package", []):
        if package["name"] == name:
            files = [*package.get("wheels", []), package.get("sdist", {})]
            hashes = sorted({f["hash"] for f in files if "hash" in f})
            if not hashes:
                raise SystemExit(f"{lock_path}: {name} has no recorded hashes")
            return " ".join([f"{name}=={package['version']}", *(f"--hash={h}" for h in hashes)])
    raise SystemExit(f"{lock_path}: no package {name!r}; run `make lock`")


def installed_version(name: str = "uv") -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def main(argv: list[str]) -> int:
    lock_path = Path(argv[0]) if argv else LOCK_FILE
    requirement = locked_requirement(lock_path)
    version = requirement.split()[0].split("==")[1]
    if installed_version() == version:
        return 0
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as requirements:
        requirements.write(requirement + "\n")
        requirements.flush()
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--require-hashes", "--no-deps", "-r", requirements.name,
        ]  # fmt: skip
        return subprocess.call(command)  # noqa: S603 - fixed argv, this interpreter's pip


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
