#!/usr/bin/env python3
"""Turn runme.sh's results.tsv into a markdown table (target | ansible-playbook | converge | reason).

Usage: runme-table.py RESULTS.TSV OUT_OF_SCOPE.TXT TARGET...
           print the table, then the targets left out and why
       runme-table.py --docs FILE RESULTS.TSV OUT_OF_SCOPE.TXT TARGET...
           replace what is between <!-- runme-table:start/end --> in FILE
"""
import datetime
import sys


def load(path):
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 6:
                rows[(cols[0], cols[1])] = cols
    return rows


def out_of_scope(path):
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    return [l.split("\t", 1) for l in lines if "\t" in l]


def cell(row):
    if row is None:
        return ""
    return "pass" if row[2] == "pass" else "**fail**"


def render(rows, scope, targets):
    tools = [t for t in ("ansible", "converge") if any(k[1] == t for k in rows)]
    names = {"ansible": "ansible-playbook", "converge": "converge"}
    head = ["target"] + [names[t] for t in tools] + ["where converge fails first"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    passed = {t: 0 for t in tools}
    for target in targets:
        cells = [cell(rows.get((target, t))) for t in tools]
        for t, c in zip(tools, cells):
            passed[t] += c == "pass"
        conv = rows.get((target, "converge"))
        reason = conv[5] if conv and conv[2] != "pass" else ""
        reason = reason.replace("|", "\\|").replace("`", "'")
        out.append("| " + " | ".join([f"`{target}`"] + cells + [f"`{reason}`" if reason else ""]) + " |")
    summary = ", ".join(f"{names[t]} passes {passed[t]} of {len(targets)}" for t in tools)
    stamp = datetime.date.today().isoformat()
    text = [f"Measured {stamp}: {summary}.", ""] + out + ["", "Not run (they need more than `ansible-playbook`):", ""]
    text += [f"- `{name}`: {why}" for name, why in scope]
    return "\n".join(text) + "\n"


def main(argv):
    docs = None
    if argv and argv[0] == "--docs":
        docs, argv = argv[1], argv[2:]
    text = render(load(argv[0]), out_of_scope(argv[1]), argv[2:])
    if docs is None:
        sys.stdout.write(text)
        return
    with open(docs, encoding="utf-8") as f:
        doc = f.read()
    start, end = "<!-- runme-table:start -->", "<!-- runme-table:end -->"
    if start not in doc or end not in doc:
        sys.exit(f"{docs}: markers {start} / {end} not found")
    before, rest = doc.split(start, 1)
    _, after = rest.split(end, 1)
    with open(docs, "w", encoding="utf-8") as f:
        f.write(before + start + "\n" + text + end + after)


if __name__ == "__main__":
    main(sys.argv[1:])
