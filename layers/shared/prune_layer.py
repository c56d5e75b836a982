"""Trim the SharedLayer's pip-installed tree down to what Lambda loads.

``make build-SharedLayer`` (run by ``sam build``) installs the layer's requirements for
python3.13 on arm64 into ``$(ARTIFACTS_DIR)/python`` and then runs this script on that directory:

    python3 prune_layer.py <site-dir>

Three kinds of things go:

* distributions that something else on the function's path already provides: the Lambda
  python3.13 runtime (boto3 and its dependencies) and AWS's Powertools layer (Powertools, pydantic,
  the X-Ray SDK and their dependencies; see template.yaml). A copy in our layer would shadow or be
  shadowed by theirs, and pair, say, the runtime's boto3 with a botocore of another release. Today
  requirements.txt pulls in none of them; this is the guard for the day a new requirement does.
* Babel locale data for languages the app cannot render. The app's languages are read from
  ``SUPPORTED_LOCALES`` in ``practitioner_alerts/domain/settings.py``, so a new language keeps its
  data without anyone editing this file. Each language keeps its regional variants (de_CH, en_GB,
  fr_CH ...), and ``root``, which every locale inherits from, stays too.
* byte code, type stubs and console scripts, which nothing imports on Lambda.

Only the standard library is used: the script runs on whatever Python drives the build, not on
the (arm64) packages it prunes.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETTINGS_MODULE = HERE / "practitioner_alerts" / "domain" / "settings.py"

# Distributions (normalized names) that the Lambda python3.13 runtime ships: boto3 and everything
# it depends on.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)
# What AWS's Powertools layer (AWSLambdaPowertoolsPythonV3-python313-arm64, built from
# aws-lambda-powertools[all]) brings that our code imports, with those packages' own dependencies.
POWERTOOLS_LAYER_PROVIDED = frozenset(
    {
        "aws-lambda-powertools",
        "pydantic",
        "pydantic-core",
        "annotated-types",
        "typing-inspection",
        "typing-extensions",
        "aws-xray-sdk",
        "wrapt",
    }
)
PROVIDED_ELSEWHERE = RUNTIME_PROVIDED | POWERTOOLS_LAYER_PROVIDED
# Every Babel locale inherits from this one; Babel cannot load any locale without it.
BABEL_ROOT_LOCALE = "root"


@dataclass
class PruneReport:
    removed_distributions: list[str] = field(default_factory=list)
    removed_locales: list[str] = field(default_factory=list)
    kept_locales: list[str] = field(default_factory=list)
    removed_bytes: int = 0


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them: python_dateutil == python-dateutil."""
    return name.lower().replace("_", "-").replace(".", "-")


def supported_languages(settings_module: Path = SETTINGS_MODULE) -> tuple[str, ...]:
    """The app's ``SUPPORTED_LOCALES``, read without importing the app (or pydantic, or babel)."""
    tree = ast.parse(settings_module.read_text(encoding="utf-8"), filename=str(settings_module))
    for node in tree.body:
        targets: list[ast.expr]
        if isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            continue
        named = any(isinstance(target, ast.Name) and target.id == "SUPPORTED_LOCALES" for target in targets)
        if named and value is not None:
            locales = ast.literal_eval(value)
            if locales and all(isinstance(item, str) for item in locales):
                return tuple(locales)
    raise ValueError(f"no SUPPORTED_LOCALES tuple of strings in {settings_module}")


def keeps_locale(name: str, languages: Iterable[str]) -> bool:
    """True for ``root``, a language (``de``) and its variants (``de_CH``, ``en_US_POSIX``)."""
    if name == BABEL_ROOT_LOCALE:
        return True
    return any(name == language or name.startswith(f"{language}_") for language in languages)


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(child.lstat().st_size for child in path.rglob("*") if child.is_file())


def _remove(path: Path, report: PruneReport) -> None:
    if not (path.exists() or path.is_symlink()):
        return
    report.removed_bytes += _size(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _dist_name(dist_info: Path) -> str:
    """Name from METADATA, else from the directory name (``name-version.dist-info``)."""
    metadata = dist_info / "METADATA"
    if metadata.is_file():
        for line in metadata.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Name:"):
                return normalize(line.partition(":")[2].strip())
            if not line:
                break
    return normalize(dist_info.name.rsplit("-", 1)[0])


def remove_provided_elsewhere(
    site: Path, report: PruneReport, provided: frozenset[str] = PROVIDED_ELSEWHERE
) -> None:
    """Delete every file RECORD lists for a distribution in ``provided`` (by default: what the
    runtime or AWS's Powertools layer has)."""
    root = Path(os.path.normpath(site))
    for dist_info in sorted(root.glob("*.dist-info")):
        name = _dist_name(dist_info)
        if name not in provided:
            continue
        # Its .dist-info and .data directories are its own; whatever else it installed may share
        # a top-level directory (a namespace package) with a distribution that stays.
        owned = [dist_info, root / f"{dist_info.name.removesuffix('.dist-info')}.data"]
        top_levels: set[Path] = set()
        record = dist_info / "RECORD"
        lines = record.read_text(encoding="utf-8").splitlines() if record.is_file() else []
        for line in lines:
            # normpath, not resolve: never follow a link out of the tree being pruned.
            target = Path(os.path.normpath(root / line.split(",", 1)[0]))
            if target == root or not target.is_relative_to(root):
                continue  # console scripts that RECORD places outside the tree (../../bin)
            top_levels.add(root / target.relative_to(root).parts[0])
            _remove(target, report)
        for path in owned:
            _remove(path, report)
        # What is left of a package once its listed files are gone: empty dirs and byte code.
        for path in sorted(top_levels):
            if path.is_dir() and not path.is_symlink() and not _has_source(path):
                _remove(path, report)
        report.removed_distributions.append(name)


def _has_source(directory: Path) -> bool:
    return any(
        path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        for path in directory.rglob("*")
    )


def prune_babel_locales(site: Path, languages: Iterable[str], report: PruneReport) -> None:
    locale_data = site / "babel" / "locale-data"
    if not locale_data.is_dir():
        return
    languages = tuple(languages)
    for data_file in sorted(locale_data.glob("*.dat")):
        if keeps_locale(data_file.stem, languages):
            report.kept_locales.append(data_file.stem)
        else:
            report.removed_locales.append(data_file.stem)
            _remove(data_file, report)
    missing = [name for name in (BABEL_ROOT_LOCALE, *languages) if name not in report.kept_locales]
    if missing:
        raise SystemExit(f"Babel has no locale data for {', '.join(missing)}; the app renders them")


def remove_build_leftovers(site: Path, report: PruneReport) -> None:
    """Byte code (Lambda's /opt is read-only, nothing writes or needs it), stubs, scripts."""
    for path in sorted(site.rglob("__pycache__"), reverse=True):
        _remove(path, report)
    for pattern in ("*.pyc", "*.pyi"):
        for path in sorted(site.rglob(pattern)):
            _remove(path, report)
    for path in sorted(site.glob("*-stubs")):
        _remove(path, report)
    _remove(site / "bin", report)


def prune(site: Path, languages: Iterable[str] | None = None) -> PruneReport:
    """Prune ``site`` (a pip ``--target`` directory) in place and say what went."""
    if not site.is_dir():
        raise FileNotFoundError(site)
    report = PruneReport()
    remove_provided_elsewhere(site, report)
    prune_babel_locales(site, supported_languages() if languages is None else languages, report)
    remove_build_leftovers(site, report)
    return report


def prune_powertools_bundle(site: Path) -> PruneReport:
    """The bundled stand-in for AWS's Powertools layer keeps Powertools, pydantic and the X-Ray
    SDK, and drops only what the runtime ships (boto3 and its family) and build leftovers."""
    if not site.is_dir():
        raise FileNotFoundError(site)
    report = PruneReport()
    remove_provided_elsewhere(site, report, RUNTIME_PROVIDED)
    remove_build_leftovers(site, report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("site", type=Path, help="the layer's python/ directory")
    parser.add_argument(
        "--powertools-bundle",
        action="store_true",
        help="prune the layer that bundles Powertools (PowertoolsLayer=bundled), not ours",
    )
    args = parser.parse_args(argv)
    report = prune_powertools_bundle(args.site) if args.powertools_bundle else prune(args.site)
    sys.stdout.write(
        f"pruned {args.site}: {report.removed_bytes / 1e6:.1f} MB; provided elsewhere: "
        f"{', '.join(report.removed_distributions) or 'none'}; Babel locales kept "
        f"{len(report.kept_locales)}, removed {len(report.removed_locales)}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
