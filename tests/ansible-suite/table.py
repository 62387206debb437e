#!/usr/bin/env python3
"""Turn the suite's results.tsv into a markdown table (target | ansible-playbook | converge | tasks ok).

Usage: table.py RESULTS.TSV TARGET...            print the table
       table.py --docs FILE RESULTS.TSV TARGET...  replace the table between the markers
                                                   <!-- targets-table:start/end --> in FILE
"""
import datetime
import sys


def load(path):
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 9:
                rows[(cols[0], cols[1])] = cols
    return rows


def cell(row):
    if row is None:
        return "", ""
    return ("pass" if row[2] == "pass" else "**fail**"), row[4]


def table(rows, targets):
    tools = sorted({tool for (_, tool) in rows}, key=lambda t: t != "ansible")
    names = {"ansible": "ansible-playbook", "converge": "converge"}
    head = ["target"] + [names[t] for t in tools] + [f"tasks ok ({names[t]})" for t in tools] + ["converge's first failure"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    passed = {t: 0 for t in tools}
    for target in targets:
        results = [cell(rows.get((target, t))) for t in tools]
        for t, (r, _) in zip(tools, results):
            passed[t] += r == "pass"
        conv = rows.get((target, "converge"))
        reason = conv[8].replace("|", "\\|") if conv and conv[2] != "pass" else ""
        out.append("| " + " | ".join([target] + [r for r, _ in results] + [ok for _, ok in results] + [reason]) + " |")
    summary = ", ".join(f"{names[t]} passes {passed[t]} of {len(targets)}" for t in tools)
    return out, summary


def main(argv):
    docs = None
    if argv and argv[0] == "--docs":
        docs, argv = argv[1], argv[2:]
    rows = load(argv[0])
    lines, summary = table(rows, argv[1:])
    stamp = datetime.date.today().isoformat()
    text = "\n".join([f"Measured {stamp}: {summary}.", ""] + lines) + "\n"
    if docs is None:
        sys.stdout.write(text)
        return
    with open(docs, encoding="utf-8") as f:
        doc = f.read()
    start, end = "<!-- targets-table:start -->", "<!-- targets-table:end -->"
    if start not in doc or end not in doc:
        sys.exit(f"{docs}: markers {start} / {end} not found")
    head, rest = doc.split(start, 1)
    _, tail = rest.split(end, 1)
    with open(docs, "w", encoding="utf-8") as f:
        f.write(head + start + "\n" + text + end + tail)


if __name__ == "__main__":
    main(sys.argv[1:])
