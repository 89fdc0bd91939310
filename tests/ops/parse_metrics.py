#!/usr/bin/python3
"""Parses a /metrics answer with the Prometheus client's own parser (Debian's
python3-prometheus-client) and prints what it read as JSON, for test_ops:

    {"families": {NAME: [TYPE, ...]}, "samples": [[NAME, {LABEL: VALUE}, VALUE], ...]}

(The parser names a counter's family without its _total, so the gauge
portico_connections and the counter portico_connections_total share a name
with two types; Prometheus itself keeps them apart by the sample names.)

Every line must be a HELP, a TYPE or a sample the parser accepted: the count
of sample lines is checked against the samples parsed, so a line the parser
skipped fails too. Exits 1 with the reason on any problem."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.endswith("\n"):
        sys.exit("the exposition does not end with a newline")
    sample_lines = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            sys.exit(f"line {number} is empty")
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        if line.startswith("#"):
            sys.exit(f"line {number} is a comment that is neither HELP nor TYPE: {line!r}")
        sample_lines += 1
    families = {}
    samples = []
    for family in text_string_to_metric_families(text):
        types = families.setdefault(family.name, [])
        if family.type in types:
            sys.exit(f"family {family.name} ({family.type}) is announced twice")
        types.append(family.type)
        for sample in family.samples:
            samples.append([sample.name, dict(sample.labels), sample.value])
    if len(samples) != sample_lines:
        sys.exit(f"{sample_lines} sample lines but the parser read {len(samples)} samples")
    print(json.dumps({"families": families, "samples": samples}))


if __name__ == "__main__":
    main(sys.argv[1])
