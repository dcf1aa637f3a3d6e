"""Copy the browser files the maps need into ``static/vendor/`` so maps draw with no internet.

folium and streamlit-folium load Leaflet (and jQuery, Bootstrap, Font Awesome, d3 ...)
from public CDNs. The app serves its own copies instead: this script fetches the
pinned npm packages with ``npm pack`` (the npm registry is the one place such files
may come from), checks each tarball against its pinned ``sha512`` integrity, and
copies only the distribution files the maps use into ``static/vendor/<name>/``.
Streamlit serves that folder at ``/app/static/vendor/...`` when started with
``--server.enableStaticServing true``; :func:`geo.maps.assets.use_local_assets` points
folium at it.

Only Leaflet is needed: :mod:`geo.maps` draws polygons, tooltips, a layer control and
its own legend (plain HTML, no d3), and drops folium's other default libraries.

The script is idempotent: when ``static/vendor/MANIFEST.json`` matches the pinned
packages and every listed file is present with its recorded SHA-256, it does nothing
(well under a second). Run it from anywhere::

    python tools/vendor_assets.py            # fetch if missing or changed
    python tools/vendor_assets.py --check    # exit 1 if not vendored (no network)
    python tools/vendor_assets.py --force    # fetch again
    python tools/vendor_assets.py --tarball-dir DIR   # use DIR/<name>-<version>.tgz, no npm

Exit codes: 0 done or up to date, 1 ``--check`` found the files missing or stale,
2 the files could not be obtained (npm missing, registry error, checksum mismatch).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = ROOT / "static" / "vendor"
MANIFEST_NAME = "MANIFEST.json"


@dataclass(frozen=True)
class Package:
    """One npm package and the files to take from it.

    ``files`` maps a path inside the tarball (under ``package/``) to a path under
    ``static/vendor/<name>/``.
    """

    name: str
    version: str
    integrity: str  # npm's dist.integrity (sha512, base64), from `npm view NAME@VERSION dist.integrity`
    files: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        """The npm package spec, ``name@version``."""
        return f"{self.name}@{self.version}"

    @property
    def tarball_name(self) -> str:
        """The file name ``npm pack`` gives the tarball (scope dropped, ``/`` made ``-``)."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


# Keep the Leaflet version in step with geo/maps/assets.py (LEAFLET_VERSION); folium 0.20 itself
# asks for 1.9.3, and 1.9.4 is the bug-fix release of the same API.
PACKAGES: tuple[Package, ...] = (
    Package(
        name="leaflet",
        version="1.9.4",
        integrity="sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==",
        files={
            "dist/leaflet.js": "leaflet.js",
            "dist/leaflet.css": "leaflet.css",
            "dist/images/layers.png": "images/layers.png",
            "dist/images/layers-2x.png": "images/layers-2x.png",
            "dist/images/marker-icon.png": "images/marker-icon.png",
            "dist/images/marker-icon-2x.png": "images/marker-icon-2x.png",
            "dist/images/marker-shadow.png": "images/marker-shadow.png",
            "LICENSE": "LICENSE",
        },
    ),
)


class VendorError(RuntimeError):
    """The files could not be obtained or did not match their checksums."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _expected_manifest_head() -> dict[str, dict[str, str]]:
    return {p.name: {"version": p.version, "integrity": p.integrity} for p in PACKAGES}


def is_up_to_date(dest: Path) -> tuple[bool, str]:
    """Tell whether ``dest`` holds exactly the pinned files, and if not, why."""
    manifest_path = dest / MANIFEST_NAME
    if not manifest_path.is_file():
        return False, f"{manifest_path} is missing"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return False, f"{manifest_path} is unreadable ({exc})"
    for pkg in PACKAGES:
        entry = manifest.get("packages", {}).get(pkg.name)
        if not entry or entry.get("version") != pkg.version or entry.get("integrity") != pkg.integrity:
            return False, f"{pkg.spec} is not the vendored version"
        files = entry.get("files", {})
        if set(files) != set(pkg.files.values()):
            return False, f"the file list of {pkg.spec} changed"
        for rel, digest in files.items():
            path = dest / pkg.name / rel
            if not path.is_file():
                return False, f"{path} is missing"
            if _sha256(path) != digest:
                return False, f"{path} was changed"
    return True, "up to date"


def _npm_pack(pkg: Package, workdir: Path) -> Path:
    npm = os.environ.get("NPM", "npm")
    if shutil.which(npm) is None:
        raise VendorError(
            f"'{npm}' was not found. Install Node.js and npm (Debian: apt-get install -y npm), "
            "or pass --tarball-dir with a folder holding " + pkg.tarball_name
        )
    cmd = [npm, "pack", pkg.spec, "--json", "--pack-destination", str(workdir), "--cache", str(workdir / ".npm")]
    try:
        proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired as exc:
        raise VendorError(f"`{' '.join(cmd)}` did not finish in 300 s") from exc
    if proc.returncode != 0:
        raise VendorError(f"`{' '.join(cmd)}` failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    try:
        info = json.loads(proc.stdout)
        filename = info[0]["filename"]
    except (ValueError, KeyError, IndexError) as exc:
        raise VendorError(f"could not read the output of `{' '.join(cmd)}`: {proc.stdout[:300]!r}") from exc
    path = workdir / filename
    if not path.is_file():
        raise VendorError(f"npm reported {filename} but it is not in {workdir}")
    return path


def _check_integrity(pkg: Package, tarball: Path) -> None:
    algo, _, expected = pkg.integrity.partition("-")
    if algo != "sha512":
        raise VendorError(f"{pkg.spec}: only sha512 integrity is supported, got {algo!r}")
    actual = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode("ascii")
    if actual != expected:
        raise VendorError(
            f"{tarball.name} does not match the pinned integrity of {pkg.spec}: expected sha512-{expected}, got sha512-{actual}"
        )


def _extract(pkg: Package, tarball: Path, out: Path) -> dict[str, str]:
    """Copy the wanted members of ``tarball`` to ``out``; return {relative path: sha256}."""
    wanted = {f"package/{src}": dst for src, dst in pkg.files.items()}
    found: dict[str, str] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            dst = wanted.get(member.name)
            if dst is None:
                continue
            if not member.isfile():
                raise VendorError(f"{tarball.name}: {member.name} is not a regular file")
            fh = tar.extractfile(member)
            if fh is None:
                raise VendorError(f"{tarball.name}: cannot read {member.name}")
            data = fh.read()
            target = out / dst
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            found[dst] = hashlib.sha256(data).hexdigest()
    missing = sorted(src for src, dst in pkg.files.items() if dst not in found)
    if missing:
        raise VendorError(f"{tarball.name} lacks {', '.join(missing)}")
    return found


def vendor(
    dest: Path = DEFAULT_DEST, *, force: bool = False, tarball_dir: Path | None = None, quiet: bool = False
) -> bool:
    """Make ``dest`` hold the pinned files; return True if anything was fetched.

    Files are written to a temporary folder next to ``dest`` and moved into place
    package by package, so an interrupted run never leaves a half-written package
    that looks complete (the manifest is written last).
    """
    say = (lambda *_: None) if quiet else (lambda msg: print(msg, file=sys.stderr))
    ok, why = is_up_to_date(dest)
    if ok and not force:
        say(f"vendor_assets: {dest} is up to date")
        return False
    say(f"vendor_assets: fetching ({why})")
    dest.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, object] = {
        "generated_by": "tools/vendor_assets.py",
        "packages": {},
    }
    with tempfile.TemporaryDirectory(prefix=".vendor-", dir=dest) as tmp:
        work = Path(tmp)
        for pkg in PACKAGES:
            if tarball_dir is not None:
                tarball = tarball_dir / pkg.tarball_name
                if not tarball.is_file():
                    raise VendorError(f"{tarball} not found")
            else:
                tarball = _npm_pack(pkg, work)
            _check_integrity(pkg, tarball)
            staged = work / "out" / pkg.name
            files = _extract(pkg, tarball, staged)
            final = dest / pkg.name
            if final.exists():
                shutil.rmtree(final)
            shutil.move(str(staged), str(final))
            manifest["packages"][pkg.name] = {  # type: ignore[index]
                "version": pkg.version,
                "integrity": pkg.integrity,
                "files": dict(sorted(files.items())),
            }
            say(f"vendor_assets: {pkg.spec} -> {final}")
    buf = io.StringIO()
    json.dump(manifest, buf, indent=2, sort_keys=True)
    (dest / MANIFEST_NAME).write_text(buf.getvalue() + "\n", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    """Vendor the assets, or only check them with ``--check``; return the exit code (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"target folder (default {DEFAULT_DEST})")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if missing or stale")
    parser.add_argument("--force", action="store_true", help="fetch again even if up to date")
    parser.add_argument("--tarball-dir", type=Path, help="take <name>-<version>.tgz from this folder instead of npm")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        ok, why = is_up_to_date(args.dest)
        if not args.quiet:
            print(f"vendor_assets: {why}", file=sys.stderr)
        return 0 if ok else 1
    try:
        vendor(args.dest, force=args.force, tarball_dir=args.tarball_dir, quiet=args.quiet)
    except VendorError as exc:
        print(f"vendor_assets: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
