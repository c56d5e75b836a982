"""Benchmark: how big our deployed code is, unzipped, as ``sam build`` leaves it.

Lambda caps a function and all its layers at 250 MB unzipped, and every cold start pulls them in;
what counts here is what this project builds and ships: our own layer plus the largest function
(``layer_mb``). AWS's Powertools layer (listed in template.yaml by ARN) is not built here and not
counted; with ``PowertoolsLayer=bundled`` (for sam local invoke) its stand-in is built by us and
is counted in ``bundled_mb``.

    .venv/bin/python -m benchmarks.layer_size              # sam build, then measure
    .venv/bin/python -m benchmarks.layer_size --no-build   # measure the last build

``measure()`` is the entry point for other benchmarks; it returns plain numbers (MB = 10^6
bytes of regular files) and makes no claims of its own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from practitioner_alerts_local.template import load_template

REPO_ROOT = Path(__file__).resolve().parents[1]
SAM = REPO_ROOT / ".venv-sam" / "bin" / "sam"
DEFAULT_BUILD_DIR = Path(".aws-sam/build")
PYTHON_VERSION = "3.13.0"  # the pyenv version `sam build` needs to find python3.13
LAYER = "AWS::Serverless::LayerVersion"
POWERTOOLS_BUNDLE = "PowertoolsBundleLayer"
FUNCTION = "AWS::Serverless::Function"
TOP_PACKAGES = 10


def _regular_files(root: Path) -> Iterator[Path]:
    for directory, _dirs, files in os.walk(root):  # os.walk does not follow directory links
        for name in files:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield path


def size_bytes(root: Path) -> int:
    """Bytes in the regular files under ``root`` (or of ``root`` itself), as unzipped."""
    if root.is_file() and not root.is_symlink():
        return root.stat().st_size
    return sum(path.stat().st_size for path in _regular_files(root))


def _mb(size: int) -> float:
    return round(size / 1e6, 3)


def run_sam_build(
    build_dir: Path, *, extra_args: list[str] | None = None, extra_env: dict[str, str] | None = None
) -> None:
    if not SAM.is_file():
        raise FileNotFoundError(f"no SAM CLI at {SAM}: run `make .venv-sam/.installed` first")
    command = [str(SAM), "build", *(extra_args or [])]
    if build_dir != REPO_ROOT / DEFAULT_BUILD_DIR:
        command += ["--build-dir", str(build_dir)]
    env = {**os.environ, "PYENV_VERSION": PYTHON_VERSION, "SAM_CLI_TELEMETRY": "0", **(extra_env or {})}
    done = subprocess.run(  # noqa: S603 - our own SAM CLI, fixed arguments
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise RuntimeError(f"sam build failed (exit {done.returncode}):\n{tail}")


def built_artifacts(build_dir: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """Our layers and functions in the built template, each with its artifact directory."""
    resources: dict[str, dict[str, Any]] = load_template(build_dir / "template.yaml")["Resources"]
    layers: dict[str, Path] = {}
    functions: dict[str, Path] = {}
    for logical_id, resource in resources.items():
        properties = resource.get("Properties") or {}
        if resource.get("Type") == LAYER and isinstance(properties.get("ContentUri"), str):
            layers[logical_id] = build_dir / properties["ContentUri"]
        elif resource.get("Type") == FUNCTION and isinstance(properties.get("CodeUri"), str):
            functions[logical_id] = build_dir / properties["CodeUri"]
    return layers, functions


def _top_level_entries(layer_dir: Path) -> Iterator[Path]:
    """What a layer adds to /opt, one level into python/ where packages live."""
    for entry in layer_dir.iterdir():
        if entry.name == "python" and entry.is_dir():
            yield from entry.iterdir()
        else:
            yield entry


def measure(build_dir: Path = DEFAULT_BUILD_DIR, *, build: bool = True) -> dict[str, Any]:
    """Run ``sam build`` (unless ``build=False``) and size what it built.

    A relative ``build_dir`` is taken from the repository root, where ``sam build`` runs.
    Returns ``layer_mb`` (our layer plus the largest function: a deploy with AWS's Powertools
    layer), ``layer_only_mb``, ``powertools_bundle_mb`` and ``bundled_mb`` (``layer_mb`` plus the
    bundled Powertools layer: PowertoolsLayer=bundled), ``largest_function``,
    ``largest_function_mb`` and ``by_package_mb``: the ten biggest top-level entries of our
    layer's ``python/`` directory, largest first.
    """
    build_dir = build_dir if build_dir.is_absolute() else REPO_ROOT / build_dir
    if build:
        run_sam_build(build_dir)
    if not (build_dir / "template.yaml").is_file():
        raise FileNotFoundError(f"no sam build output in {build_dir}; measure with build=True")
    layers, functions = built_artifacts(build_dir)
    bundle = layers.pop(POWERTOOLS_BUNDLE, None)
    if not layers or not functions or bundle is None:
        raise ValueError(f"{build_dir}/template.yaml lacks our layer, the Powertools bundle or a function")

    layer_bytes = sum(size_bytes(path) for path in layers.values())
    bundle_bytes = size_bytes(bundle)
    function_bytes = {name: size_bytes(path) for name, path in functions.items()}
    largest = max(function_bytes, key=lambda name: function_bytes[name])

    packages: dict[str, int] = {}
    for layer_dir in layers.values():
        for entry in _top_level_entries(layer_dir):
            packages[entry.name] = packages.get(entry.name, 0) + size_bytes(entry)
    top = sorted(packages.items(), key=lambda item: item[1], reverse=True)[:TOP_PACKAGES]

    return {
        "layer_mb": _mb(layer_bytes + function_bytes[largest]),
        "layer_only_mb": _mb(layer_bytes),
        "powertools_bundle_mb": _mb(bundle_bytes),
        "bundled_mb": _mb(layer_bytes + bundle_bytes + function_bytes[largest]),
        "largest_function": largest,
        "largest_function_mb": _mb(function_bytes[largest]),
        "by_package_mb": {name: _mb(size) for name, size in top},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Unzipped size of our layer and largest function.")
    parser.add_argument("--no-build", action="store_true", help="measure the existing build")
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
    args = parser.parse_args(argv)
    result = measure(args.build_dir, build=not args.no_build)
    summary = [
        ("our layer + largest function (PowertoolsLayer=managed)", result["layer_mb"]),
        ("  + bundled Powertools layer (PowertoolsLayer=bundled)", result["bundled_mb"]),
        ("our layer", result["layer_only_mb"]),
        ("bundled Powertools layer", result["powertools_bundle_mb"]),
        (f"largest function ({result['largest_function']})", result["largest_function_mb"]),
    ]
    packages = [(f"  {name}", size) for name, size in result["by_package_mb"].items()]
    width = max(len(label) for label, _ in summary + packages)
    print(f"{'unzipped, MB = 10^6 bytes':<{width}}  {'MB':>8}")
    for label, size in summary:
        print(f"{label:<{width}}  {size:>8.3f}")
    print("largest entries in our layer:")
    for label, size in packages:
        print(f"{label:<{width}}  {size:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
