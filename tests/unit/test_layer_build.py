"""What the SharedLayer build prunes, and that alerts still render from what it keeps.

``layers/shared/prune_layer.py`` runs inside ``sam build``; these tests run it on small trees
made here and on a copy of the Babel the tests already use, so no ``sam build`` is needed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import babel
import pytest

from practitioner_alerts.domain.notifications import AlertContent
from practitioner_alerts.domain.settings import SUPPORTED_LOCALES
from practitioner_alerts.rendering import render_email, render_headline, render_sms
from practitioner_alerts_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
PRUNE_SCRIPT = ROOT / "layers" / "shared" / "prune_layer.py"
REQUIREMENTS = ROOT / "layers" / "shared" / "requirements.txt"


def _load_prune() -> ModuleType:
    # The script lives in the layer's source directory, not in an importable package.
    spec = importlib.util.spec_from_file_location("prune_layer", PRUNE_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


prune_layer = _load_prune()


def write(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def fake_distribution(site: Path, name: str, version: str, files: list[str]) -> None:
    """A pip-installed distribution: its files, METADATA and a RECORD listing them all."""
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    for relative in files:
        if not relative.startswith(".."):
            write(site / relative)
    write(dist_info / "METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n")
    listed = [*files, f"{dist_info.name}/METADATA", f"{dist_info.name}/RECORD"]
    write(dist_info / "RECORD", "".join(f"{path},,\n" for path in listed))


def requirement_names(lines: list[str]) -> set[str]:
    """Distribution names in requirement lines such as ``babel>=2.16`` or ``x[extra]==1; ...``."""
    names = set()
    for line in lines:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line.split("#", 1)[0])
        if match:
            names.add(prune_layer.normalize(match.group(1)))
    return names


# ------------------------------------------------------------------------------------------------
# Which Babel locales stay
# ------------------------------------------------------------------------------------------------
def test_the_prune_step_reads_the_languages_the_app_offers() -> None:
    assert prune_layer.supported_languages() == SUPPORTED_LOCALES


def test_babel_keeps_the_apps_languages_their_regional_variants_and_root(tmp_path: Path) -> None:
    locale_data = tmp_path / "babel" / "locale-data"
    kept = ["root", "de", "de_AT", "de_CH", "en", "en_GB", "en_US_POSIX", "fr", "fr_CH", "it", "it_CH"]
    # Lookalikes: Friulian (fur) and Northern Frisian (frr) start like fr, Ewe (ee) like en.
    dropped = ["es", "es_ES", "ja", "frr", "fur", "ee", "dsb", "rm", "rm_CH"]
    for name in kept + dropped:
        write(locale_data / f"{name}.dat")
    write(tmp_path / "babel" / "global.dat")

    report = prune_layer.prune(tmp_path)

    assert sorted(path.stem for path in locale_data.iterdir()) == sorted(kept)
    assert sorted(report.removed_locales) == sorted(dropped)
    assert (tmp_path / "babel" / "global.dat").is_file()


def test_a_language_babel_has_no_data_for_stops_the_build(tmp_path: Path) -> None:
    write(tmp_path / "babel" / "locale-data" / "root.dat")
    write(tmp_path / "babel" / "locale-data" / "de.dat")
    with pytest.raises(SystemExit, match="no locale data for xx"):
        prune_layer.prune(tmp_path, languages=("de", "xx"))


def test_the_settings_module_must_name_its_locales(tmp_path: Path) -> None:
    settings = write(tmp_path / "settings.py", 'DEFAULT_REGION = "DE"\n')
    with pytest.raises(ValueError, match="SUPPORTED_LOCALES"):
        prune_layer.supported_languages(settings)


def test_every_locale_the_app_offers_renders_the_same_from_the_pruned_babel(tmp_path: Path) -> None:
    # A copy of the Babel the tests use, made of links (cheap), pruned like the layer's.
    installed = Path(babel.__file__).parent
    shutil.copytree(installed, tmp_path / "babel", copy_function=os.symlink)
    report = prune_layer.prune(tmp_path)
    assert len(report.removed_locales) > 500, "the copy should lose most of Babel's locales"

    script = r"""
import json, sys
from datetime import UTC, datetime
sys.path.insert(0, sys.argv[1])
import babel, babel.localedata
from babel.core import Locale, UnknownLocaleError
assert babel.__file__.startswith(sys.argv[1]), babel.__file__
from practitioner_alerts.domain.notifications import AlertContent
from practitioner_alerts.rendering import render_email, render_headline, render_sms
out = {"rendered": {}, "kept": [], "gone": None}
for fields in json.loads(sys.argv[2]):
    alert = AlertContent.model_validate(fields)
    email = render_email(alert)
    out["rendered"][fields["locale"] + "/" + fields["kind"]] = [
        render_sms(alert), render_headline(alert), email.subject, email.text, email.html]
for name in babel.localedata.locale_identifiers():
    babel.localedata.load(name)  # a kept variant whose parent was pruned would fail here
    out["kept"].append(name)
try:
    Locale.parse("ja")
except UnknownLocaleError:
    out["gone"] = "ja"
print(json.dumps(out))
"""
    kinds = ("booked", "rescheduled")
    alerts = [alert_fields(locale, kind) for locale in SUPPORTED_LOCALES for kind in kinds]
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), json.dumps(alerts)],
        capture_output=True,
        text=True,
        check=True,
    )
    pruned = json.loads(done.stdout)

    assert pruned["rendered"] == render_in_process(alerts)
    assert pruned["gone"] == "ja"
    # Every kept locale loaded, its parents and root with it; the regional variants are among them.
    assert set(SUPPORTED_LOCALES) | {"de_CH", "fr_CH", "it_CH", "en_GB", "de_AT"} <= set(pruned["kept"])


def alert_fields(locale: str, kind: str) -> dict[str, Any]:
    start = datetime(2027, 9, 9, 10, 0, tzinfo=UTC)
    new_start = datetime(2027, 9, 10, 7, 30, tzinfo=UTC)
    return {
        "kind": kind,
        "calendar_id": "cal-1",
        "appointment_id": "apt-1",
        "starts_at": (new_start if kind == "rescheduled" else start).isoformat(),
        "previous_starts_at": start.isoformat() if kind == "rescheduled" else None,
        "changed_at": datetime(2027, 9, 8, 13, 0, tzinfo=UTC).isoformat(),
        "patient_first_name": "Maria",
        "patient_last_name": "Müller",
        "visit_motive": "Kontrolle",
        "practitioner_name": "Dr. Anna Schmidt",
        "time_zone": "Europe/Zurich",
        "locale": locale,
    }


def render_in_process(alerts: list[dict[str, Any]]) -> dict[str, list[str]]:
    rendered = {}
    for fields in alerts:
        alert = AlertContent.model_validate(fields)
        email = render_email(alert)
        rendered[f"{fields['locale']}/{fields['kind']}"] = [
            render_sms(alert),
            render_headline(alert),
            email.subject,
            email.text,
            email.html,
        ]
    return rendered


# ------------------------------------------------------------------------------------------------
# What the runtime and the Powertools layer provide stays out of our layer
# ------------------------------------------------------------------------------------------------
def test_packages_provided_by_the_runtime_or_the_powertools_layer_are_removed(tmp_path: Path) -> None:
    site = tmp_path / "python"
    fake_distribution(site, "botocore", "1.40.0", ["botocore/__init__.py", "botocore/data/s3.json"])
    fake_distribution(site, "python-dateutil", "2.9.0", ["dateutil/__init__.py"])
    fake_distribution(site, "six", "1.17.0", ["six.py"])
    fake_distribution(site, "jmespath", "1.0.1", ["jmespath/__init__.py", "../bin/jp.py"])
    fake_distribution(site, "pydantic-core", "2.41.0", ["pydantic_core/__init__.py"])
    fake_distribution(site, "aws-lambda-powertools", "3.23.0", ["aws_lambda_powertools/__init__.py"])
    write(site / "botocore" / "__pycache__" / "__init__.cpython-313.pyc")  # not in RECORD
    write(site / "jmespath-1.0.1.data" / "scripts" / "jp.py")
    fake_distribution(site, "jinja2", "3.1.6", ["jinja2/__init__.py"])
    outside = write(tmp_path / "bin" / "jp.py", "not ours")  # RECORD points here: ../bin/jp.py

    report = prune_layer.prune(site, languages=("de",))

    assert sorted(path.name for path in site.iterdir()) == ["jinja2", "jinja2-3.1.6.dist-info"]
    assert sorted(report.removed_distributions) == sorted(
        ["botocore", "python-dateutil", "six", "jmespath", "pydantic-core", "aws-lambda-powertools"]
    )
    assert outside.read_text(encoding="utf-8") == "not ours"


def test_the_bundled_powertools_layer_keeps_powertools_and_pydantic_and_drops_the_runtimes_boto3(
    tmp_path: Path,
) -> None:
    # PowertoolsLayer=bundled stands in for AWS's layer: what that layer has must stay in it.
    site = tmp_path / "python"
    fake_distribution(site, "aws-lambda-powertools", "3.37.0", ["aws_lambda_powertools/__init__.py"])
    fake_distribution(site, "pydantic-core", "2.41.0", ["pydantic_core/__init__.py"])
    fake_distribution(site, "botocore", "1.40.0", ["botocore/__init__.py"])
    write(site / "aws_lambda_powertools" / "__pycache__" / "__init__.cpython-313.pyc")

    report = prune_layer.prune_powertools_bundle(site)

    assert report.removed_distributions == ["botocore"]
    assert sorted(path.name for path in site.iterdir()) == [
        "aws_lambda_powertools",
        "aws_lambda_powertools-3.37.0.dist-info",
        "pydantic_core",
        "pydantic_core-2.41.0.dist-info",
    ]
    assert not (site / "aws_lambda_powertools" / "__pycache__").exists()


def test_byte_code_stubs_and_scripts_are_removed_and_data_files_kept(tmp_path: Path) -> None:
    write(tmp_path / "jinja2" / "__pycache__" / "x.cpython-313.pyc")
    write(tmp_path / "jinja2" / "__init__.pyi")
    write(tmp_path / "wrapt-stubs" / "__init__.pyi")
    write(tmp_path / "bin" / "pybabel")
    kept = [
        write(tmp_path / "jinja2" / "__init__.py"),
        write(tmp_path / "jinja2" / "py.typed"),
        write(tmp_path / "tzdata" / "zoneinfo" / "zone.tab"),
        write(tmp_path / "practitioner_alerts" / "rendering" / "templates" / "alert.html"),
    ]

    prune_layer.prune(tmp_path, languages=("de",))

    left = sorted(path for path in tmp_path.rglob("*") if path.is_file())
    assert left == sorted(kept)


def test_requirements_ship_nothing_the_runtime_or_the_powertools_layer_provides() -> None:
    names = requirement_names(REQUIREMENTS.read_text(encoding="utf-8").splitlines())
    assert names, "requirements.txt lists no package"
    assert not names & prune_layer.PROVIDED_ELSEWHERE


def test_local_development_installs_what_the_layer_ships() -> None:
    # Tests run against pyproject's dependencies; the layer must not ship something else.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = requirement_names(pyproject["project"]["dependencies"])
    assert requirement_names(REQUIREMENTS.read_text(encoding="utf-8").splitlines()) <= dependencies
    assert "phonenumbers" not in dependencies, "phonenumberslite has the same API, 20 MB smaller"


def test_lambda_gets_the_powertools_version_the_tests_run_against() -> None:
    # Powertools, pydantic and the X-Ray SDK come from AWS's layer, named by Powertools version.
    template = load_template(ROOT / "template.yaml")
    assert {"Ref": "PowertoolsLayerArn"} in template["Globals"]["Function"]["Layers"][1]["Fn::If"]
    ssm_name = template["Parameters"]["PowertoolsLayerArn"]["Default"]
    match = re.fullmatch(r"/aws/service/powertools/python/arm64/python3\.13/(.+)", ssm_name)
    assert match, ssm_name
    deployed = match.group(1)

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [dep for dep in pyproject["project"]["dependencies"] if dep.startswith("aws-lambda-powertools")]
    assert pins == [f"aws-lambda-powertools[tracer,parser]=={deployed}"]
    assert importlib.metadata.version("aws-lambda-powertools") == deployed
    # The bundled stand-in for AWS's layer (PowertoolsLayer=bundled) installs the same pin.
    bundle = (ROOT / "layers" / "shared" / "requirements-powertools.txt").read_text(encoding="utf-8")
    assert [line for line in bundle.splitlines() if line and not line.startswith("#")] == pins
