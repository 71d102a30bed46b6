"""The score of the last `mutmut run` and the survivors nobody has explained.

Reads mutmut's results (mutants/**/*.py.meta) and the survivors file (mutation-survivors.md), prints the score per
module and in total (killed / total; a timeout or a type-check catch counts as killed), and lists every mutant that
was not killed and is not named in the survivors file. Exits 1 if there is such a mutant, or if the score is below
--fail-under. Mutants named in the file that are killed now, or no longer exist, are reported so the file can be
tidied, but do not fail the check.

    python tools/mutation_score.py [--survivors mutation-survivors.md] [--fail-under 90]
"""

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANT_NAME = re.compile(r"\b([A-Za-z_][\w.]*__mutmut_\d+)\b")

try:  # mutmut's own table of exit codes, so that this script follows mutmut's meaning of each
    from mutmut.stats import status_by_exit_code
except Exception:  # an older or newer mutmut: the table of mutmut 3.x
    status_by_exit_code = defaultdict(lambda: "suspicious", {
        1: "killed", 3: "killed", 0: "survived", 5: "no tests", 2: "check was interrupted by user",
        None: "not checked", 33: "no tests", 34: "skipped", 35: "suspicious", 36: "timeout",
        37: "caught by type check", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
        -11: "segfault", -9: "segfault",
    })

DETECTED = {"killed", "timeout", "caught by type check"}


def load_results(mutants_dir):
    """{mutant name: status} from mutmut's .meta files."""
    results = {}
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, exit_code in data.get("exit_code_by_key", {}).items():
            results[name] = status_by_exit_code[exit_code]
    return results


def module_of(name):
    # grants.review.scoring.x_rank__mutmut_9 -> grants.review.scoring
    return name.rsplit(".", 1)[0] if "." in name else name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", default=str(ROOT / "mutants"), help="mutmut's working directory")
    parser.add_argument("--survivors", default=str(ROOT / "mutation-survivors.md"),
                        help="the file that names each accepted survivor with its reason")
    parser.add_argument("--fail-under", type=float, default=0.0, help="fail below this score (per cent)")
    args = parser.parse_args(argv)

    results = load_results(Path(args.mutants))
    if not results:
        print(f"No mutmut results under {args.mutants}: run `mutmut run` (or `make mutation`) first.")
        return 1
    survivors_path = Path(args.survivors)
    listed = set(MUTANT_NAME.findall(survivors_path.read_text(encoding="utf-8"))) if survivors_path.exists() else set()

    per_module = defaultdict(Counter)
    for name, status in results.items():
        per_module[module_of(name)][status] += 1

    print(f"{'module':45} {'killed':>7} {'total':>6} {'score':>7}  other")
    for module in sorted(per_module):
        counts = per_module[module]
        killed, total = sum(counts[s] for s in DETECTED), sum(counts.values())
        other = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s not in DETECTED)
        print(f"{module:45} {killed:7} {total:6} {100 * killed / total:6.1f}%  {other}")
    statuses = Counter(results.values())
    killed, total = sum(statuses[s] for s in DETECTED), len(results)
    score = 100 * killed / total
    print(f"{'total':45} {killed:7} {total:6} {score:6.1f}%")
    print("by status: " + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items())))

    not_killed = sorted(name for name, status in results.items() if status not in DETECTED)
    unexplained = [name for name in not_killed if name not in listed]
    explained = len(not_killed) - len(unexplained)
    print(f"\n{len(not_killed)} not killed: {explained} listed in {survivors_path.name}, {len(unexplained)} not listed")

    stale = sorted(name for name in listed if results.get(name) in DETECTED)
    unknown = sorted(name for name in listed if name not in results)
    if stale:
        print(f"\nListed in {survivors_path.name} but killed now (remove them from the file):")
        print("".join(f"  {name}\n" for name in stale), end="")
    if unknown:
        print(f"\nListed in {survivors_path.name} but not among the mutants of this run (renumbered or gone):")
        print("".join(f"  {name}\n" for name in unknown), end="")

    failed = False
    if unexplained:
        failed = True
        print(f"\nSurvivors not listed in {survivors_path.name} (kill them with a test, or list them with the "
              "reason they cannot be killed; `mutmut show <name>` shows the change):")
        print("".join(f"  {name}: {results[name]}\n" for name in unexplained), end="")
    if score < args.fail_under:
        failed = True
        print(f"\nScore {score:.1f}% is below {args.fail_under:g}%.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
