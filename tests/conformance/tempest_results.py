#!/usr/bin/env python3
"""What a Tempest run (tests/conformance/run.sh) means for tempest.sh: the ratchet
check, and which tests join tempest-pass.txt.

A test passed only if every result results.subunit holds for it is "success".
An expected failure (xfail), an unexpected success (uxsuccess), a skip or a
failure is not a pass, whatever run.sh's summary counts it as (it counts xfail
as passed).

A test joins tempest-pass.txt only after it passed in RUNS full runs in a row.
tempest-streak.txt (next to the pass list, checked in with it) holds, for each
test on its way in, how many runs in a row it has passed: "<runs> <test id>". A
run that included a test and did not pass it resets the test's count; a run
that did not include it (a subset REGEX) leaves the count alone. Tests already
in the pass list are not counted.

  tempest_results.py ratchet RESULTS_DIR PASS_LIST
  tempest_results.py admit RESULTS_DIR PASS_LIST STREAK_FILE RUNS
"""
import json
import os
import re
import sys

PASS_HEADER = (
    "# Tempest tests that pass against chronova (a ratchet: CI fails if one of\n"
    "# them stops passing; the list only grows). tests/conformance/tempest.sh\n"
    "# BUILD_DIR full adds a test once it passed in $TEMPEST_ADMIT_RUNS (3) full\n"
    "# runs in a row (tempest-streak.txt counts them); an expected failure is not\n"
    "# a pass. Removing a test needs a reason in tempest-removed.txt\n"
    "# (tests/conformance/pass_list_check.sh).\n")
STREAK_HEADER = (
    "# Tempest tests on their way into tempest-pass.txt: \"<runs> <test id>\", the\n"
    "# number of full runs in a row (tempest.sh BUILD_DIR full) that passed the\n"
    "# test. A test is admitted at $TEMPEST_ADMIT_RUNS (3) and leaves this file.\n")


def read_tests(path):
    """The test ids listed in `path` (lines starting with "tempest."), in order."""
    try:
        with open(path) as f:
            return [l.strip() for l in f if l.startswith("tempest.")]
    except FileNotFoundError:
        return []


def subunit_statuses(results_dir):
    """Every status results.subunit records, per test id (without its [tags])."""
    path = os.path.join(results_dir, "results.subunit")
    if not os.path.exists(path):
        sys.exit("tempest_results: no %s: the run recorded no results" % path)
    import subunit
    import testtools

    statuses = {}

    def on_test(test):
        base = re.sub(r"\[.*", "", test.get("id") or "")
        if base.startswith("tempest."):
            statuses.setdefault(base, set()).add(test["status"])

    result = testtools.StreamToDict(on_test)
    result.startTestRun()
    with open(path, "rb") as f:
        subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout").run(result)
    result.stopTestRun()
    return statuses


def load_run(results_dir):
    """(the tests the run included, the tests it passed, statuses per test)."""
    with open(os.path.join(results_dir, "summary.json")) as f:
        summary = json.load(f)
    statuses = subunit_statuses(results_dir)
    ran = set()
    for key in ("passed", "failed", "skipped", "not_run"):
        ran.update(t for t in summary.get(key, []) if t.startswith("tempest."))
    passed = {t for t in summary.get("passed", []) if statuses.get(t) == {"success"}}
    return ran, passed, statuses


def ratchet(results_dir, pass_list):
    want = read_tests(pass_list)
    _, passed, statuses = load_run(results_dir)
    missing = [t for t in want if t not in passed]
    for t in missing:
        how = ", ".join(sorted(statuses.get(t, {"no result"})))
        print("RATCHET: no longer passes: %s (%s)" % (t, how))
    print("ratchet: %d of %d listed tests pass" % (len(want) - len(missing), len(want)))
    return 1 if missing else 0


def read_streaks(path):
    streaks = {}
    try:
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) == 2 and not line.startswith("#"):
                    streaks[fields[1]] = int(fields[0])
    except FileNotFoundError:
        pass
    return streaks


def admit(results_dir, pass_list, streak_file, runs):
    old = read_tests(pass_list)
    listed = set(old)
    streaks = {t: n for t, n in read_streaks(streak_file).items() if t not in listed}
    ran, passed, _ = load_run(results_dir)
    for t in ran - listed:
        if t in passed:
            streaks[t] = streaks.get(t, 0) + 1
        else:
            streaks.pop(t, None)  # not passed (or an expected failure): start over
    admitted = sorted(t for t, n in streaks.items() if n >= runs)
    for t in admitted:
        del streaks[t]
    new = sorted(listed | set(admitted))
    with open(pass_list, "w") as f:
        f.write(PASS_HEADER + "".join(t + "\n" for t in new))
    with open(streak_file, "w") as f:
        f.write(STREAK_HEADER +
                "".join("%d %s\n" % (streaks[t], t) for t in sorted(streaks)))
    print("tempest-pass.txt: %d tests (%d admitted after %d passing runs in a row); "
          "%d more on their way (tempest-streak.txt)" %
          (len(new), len(admitted), runs, len(streaks)))
    for t in admitted:
        print("admitted: " + t)
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "ratchet":
        return ratchet(argv[2], argv[3])
    if len(argv) == 6 and argv[1] == "admit":
        runs = int(argv[5])
        if runs < 1:
            sys.exit("tempest_results: RUNS must be at least 1")
        return admit(argv[2], argv[3], argv[4], runs)
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
