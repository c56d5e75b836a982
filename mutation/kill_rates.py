"""The kill rate of each mutated module, from mutmut's results, and the mutants that survived.

Run by `make mutate` in .mutate/ after `mutmut run`. A mutant counts as killed when a test
failed on it, it timed out (an infinite loop the tests would hang on) or the type checker
refused it; survivors and mutants no test reaches count against the module.

A survivor that behaves exactly as the original does is listed in mutation/equivalent.toml with
the line mutmut made and why it changes nothing. The report gives the raw rate and the rate with
those counted; an entry whose mutant no longer makes that line (the code changed, mutmut
renumbered) is named as stale and its mutant counts as a survivor again.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

from mutmut.mutation.diff_apply import get_diff_for_mutant

KILLED = {"killed", "timeout", "caught by type check"}
COUNTED = KILLED | {"survived", "no tests", "suspicious", "segfault"}
GOAL = 0.90
# "practitioner_alerts.detector.x__read__mutmut_3" or "...detector.xǁAlertDetectorǁhandle__mutmut_1"
_MUTANT = re.compile(r"^\s*(?P<name>[\w.ǁ]+__mutmut_\d+): (?P<status>.+)$")
EQUIVALENT = Path(__file__).with_name("equivalent.toml")


def module_of(mutant: str) -> str:
    parts = mutant.split(".")
    for index, part in enumerate(parts):
        if part.startswith(("x_", "xǁ")):
            return ".".join(parts[:index])
    return mutant


def mutated_lines(mutant: str) -> list[str]:
    """The lines the mutant has in place of the original's, stripped."""
    diff = get_diff_for_mutant(mutant).splitlines()
    return [line[1:].strip() for line in diff if line.startswith("+") and not line.startswith("+++")]


def equivalents(survived: set[str]) -> tuple[dict[str, str], list[str]]:
    """The survivors mutation/equivalent.toml explains, and its entries that no longer fit."""
    listed: dict[str, dict[str, str]] = tomllib.loads(EQUIVALENT.read_text(encoding="utf-8"))
    explained: dict[str, str] = {}
    stale: list[str] = []
    for name, entry in listed.items():
        if name in survived and entry["line"].strip() in mutated_lines(name):
            explained[name] = entry["why"]
        elif name in survived:
            stale.append(f"{name}: mutmut's line is no longer `{entry['line']}`")
        else:
            stale.append(f"{name}: not a survivor (any more)")
    return explained, stale


def rate(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def main() -> int:
    mutmut = Path(sys.executable).with_name("mutmut")
    listed = subprocess.run(
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    found = [
        (match["name"], match["status"].strip())
        for line in listed.splitlines()
        if (match := _MUTANT.match(line))
    ]
    if not found:
        print("no mutants found: run `mutmut run` first", file=sys.stderr)
        return 1
    explained, stale = equivalents({name for name, status in found if status == "survived"})
    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for name, status in found:
        module = module_of(name)
        statuses[module]["equivalent" if name in explained else status] += 1
        if status in {"survived", "no tests"} and name not in explained:
            survivors[module].append(f"{name} ({status})")
    header = f"{'module':42}{'killed':>7}{'equiv':>6}{'survived':>9}{'no test':>8}{'counted':>8}"
    print(f"{header}{'raw':>7}{'+equiv':>8}")
    total = Counter[str]()
    for module in [*sorted(statuses), "all"]:
        counts = total if module == "all" else statuses[module]
        if module != "all":
            total.update(counts)
        killed, equivalent = sum(counts[s] for s in KILLED), counts["equivalent"]
        counted = sum(counts[s] for s in COUNTED) + equivalent
        line = (
            f"{module:42}{killed:>7}{equivalent:>6}{counts['survived']:>9}{counts['no tests']:>8}{counted:>8}"
            f"{rate(killed, counted):>7}{rate(killed + equivalent, counted):>8}"
        )
        print(f"{line}  (goal {GOAL:.0%})" if module == "all" else line)
    if not_checked := total["not checked"]:
        print(f"{not_checked} mutants not checked yet (the run was cut short)")
    for entry in stale:
        print(f"stale in {EQUIVALENT.name}: {entry}")
    for module in sorted(survivors):
        print(f"\nsurvived in {module}:")
        for name in survivors[module]:
            print(f"  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
