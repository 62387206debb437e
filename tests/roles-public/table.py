#!/usr/bin/env python3
"""Turn run.sh's results.tsv into a markdown table: per role, ansible-playbook's and converge's
result and converge's steps (check writes nothing, apply, changed=0 again, managed files equal to
Ansible's, service runs).

Usage: table.py RESULTS.TSV EXPECTED.TXT ROLE...             print the table
       table.py --docs FILE RESULTS.TSV EXPECTED.TXT ROLE...  replace the table between the
                                                              markers <!-- roles-table:start/end -->
                                                              in FILE (created when missing)
"""
import datetime
import os
import sys

START, END = "<!-- roles-table:start -->", "<!-- roles-table:end -->"
HEADER = "# Compatibility\n\nHow converge does on real Ansible content, measured on the project's lab (Debian 12 hosts).\n"
# results.tsv columns
ROLE, TOOL, RESULT, CHECK_RC, WRITES, APPLY_RC, CHANGED2, MANAGED, SERVICE, SECS, REASON = range(11)


def load(path):
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) == 11:
                rows[(cols[ROLE], cols[TOOL])] = cols
    return rows


def verdict(row):
    if row is None:
        return "not run"
    return "pass" if row[RESULT] == "pass" else "**fail**"


def steps(row):
    if row is None:
        return ["", "", "", "", ""]
    return [
        "yes" if row[WRITES] == "none" else f"**no** ({row[WRITES]})",
        "0" if row[APPLY_RC] == "0" else f"**{row[APPLY_RC]}**",
        row[CHANGED2] if row[CHANGED2] == "0" else f"**{row[CHANGED2]}**",
        {"equal": "equal", "no-ref": "no reference"}.get(row[MANAGED], f"**{row[MANAGED]}**"),
        row[SERVICE] if row[SERVICE] != "down" else "**down**",
    ]


def table(rows, expected, roles):
    head = ["role", "ansible-playbook", "converge", "expected", "check writes nothing", "apply rc",
            "changed (2nd run)", "managed files vs Ansible", "service", "converge's first failure"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    passed = {"ansible": 0, "converge": 0}
    for role in roles:
        conv, ans = rows.get((role, "converge")), rows.get((role, "ansible"))
        for tool, row in (("ansible", ans), ("converge", conv)):
            passed[tool] += row is not None and row[RESULT] == "pass"
        reason = conv[REASON].replace("|", "\\|") if conv and conv[RESULT] != "pass" else ""
        cells = [role, verdict(ans), verdict(conv), "pass" if role in expected else "-"] + steps(conv) + [reason]
        out.append("| " + " | ".join(cells) + " |")
    summary = f"ansible-playbook passes {passed['ansible']} of {len(roles)}, converge passes {passed['converge']} of {len(roles)}"
    return out, summary


def write_docs(docs, text):
    doc = open(docs, encoding="utf-8").read() if os.path.exists(docs) else HEADER
    if START not in doc or END not in doc:
        doc = doc.rstrip("\n") + "\n\n## Public roles (`tests/roles-public/run.sh`)\n\n" + START + "\n" + END + "\n"
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(docs, "w", encoding="utf-8") as f:
        f.write(head + START + "\n" + text + END + tail)


def main(argv):
    docs = None
    if argv and argv[0] == "--docs":
        docs, argv = argv[1], argv[2:]
    rows = load(argv[0])
    with open(argv[1], encoding="utf-8") as f:
        expected = {l.strip() for l in f if l.strip() and not l.startswith("#")}
    lines, summary = table(rows, expected, argv[2:])
    stamp = datetime.date.today().isoformat()
    text = "\n".join([f"Measured {stamp}: {summary}.", ""] + lines) + "\n"
    if docs is None:
        sys.stdout.write(text)
    else:
        write_docs(docs, text)


if __name__ == "__main__":
    main(sys.argv[1:])
