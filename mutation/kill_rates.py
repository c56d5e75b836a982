"""The kill rate of each mutated module, from mutmut's results, and the mutants that survived.

Run by `make mutate` in .mutate/ after `mutmut run`. A mutant counts as killed when a test
failed on it, it timed out (an infinite loop the tests would hang on) or the type checker
refused it; survivors and mutants no test reaches count against the module.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

KILLED = {"killed", "timeout", "caught by type check"}
COUNTED = KILLED | {"survived", "no tests", "suspicious", "segfault"}
GOAL = 0.90
# "practitioner_alerts.detector.x__read__mutmut_3" or "...detector.xǁAlertDetectorǁhandle__mutmut_1"
_MUTANT = re.compile(r"^\s*(?P<name>[\w.ǁ]+__mutmut_\d+): (?P<status>.+)$")


def module_of(mutant: str) -> str:
    parts = mutant.split(".")
    for index, part in enumerate(parts):
        if part.startswith(("x_", "xǁ")):
            return ".".join(parts[:index])
    return mutant


def main() -> int:
    mutmut = Path(sys.executable).with_name("mutmut")
    listed = subprocess.run(
        [str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True
    ).stdout
    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for line in listed.splitlines():
        if match := _MUTANT.match(line):
            module, status = module_of(match["name"]), match["status"].strip()
            statuses[module][status] += 1
            if status in {"survived", "no tests"}:
                survivors[module].append(f"{match['name']} ({status})")
    if not statuses:
        print("no mutants found: run `mutmut run` first", file=sys.stderr)
        return 1
    print(f"{'module':48}{'killed':>8}{'survived':>9}{'no test':>8}{'counted':>9}{'rate':>8}")
    total = Counter[str]()
    for module in sorted(statuses):
        counts = statuses[module]
        total.update(counts)
        killed = sum(counts[s] for s in KILLED)
        counted = sum(counts[s] for s in COUNTED)
        rate = f"{killed / counted:.1%}" if counted else "n/a"
        print(f"{module:48}{killed:>8}{counts['survived']:>9}{counts['no tests']:>8}{counted:>9}{rate:>8}")
    killed = sum(total[s] for s in KILLED)
    counted = sum(total[s] for s in COUNTED)
    rate = f"{killed / counted:.1%}" if counted else "n/a"
    line = f"{'all':48}{killed:>8}{total['survived']:>9}{total['no tests']:>8}{counted:>9}{rate:>8}"
    print(f"{line}  (goal {GOAL:.0%})")
    not_checked = total["not checked"]
    if not_checked:
        print(f"{not_checked} mutants not checked yet (the run was cut short)")
    for module in sorted(survivors):
        print(f"\nsurvived in {module}:")
        for name in survivors[module]:
            print(f"  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
