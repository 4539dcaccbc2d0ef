#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The documentation-drift test: the man pages in man/ against the tables
the code reads, never a hand-kept list.

The command prints its tables with the hidden --list-options (src/cli/main.c:
its own options, the subcommands, the directives of src/config.c;
src/cli/options.c, trust.c, cache.c: each subcommand's getopt table and
actions). Every directive must be a .TP entry of DIRECTIVES in
provider-domainsec.7 (and nothing else be one), saying the default the
code gives (dsec_config_describe of a new configuration); every subcommand an
.SS "domainsec CMD" of domainsec.1 whose .TP entries are exactly its options
(--help is documented once, under OPTIONS, for every command) and actions;
the options of policyd also the .TP entries of OPTIONS in
domainsec-policyd.8. Every page must pass `man --warnings` without a word.

Usage: check_man.py DOMAINSEC_BINARY MAN_DIR. Exit 0 when all holds, 1 with
every difference listed, 77 when `man` is missing.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys

PAGES = ("domainsec.1", "provider-domainsec.7", "domainsec-policyd.8")


def listing(binary, *args):
    """The "kind name" lines of `domainsec [ARGS] --list-options`."""
    out = subprocess.run([binary, *args, "--list-options"], check=True,
                         capture_output=True, text=True, timeout=30).stdout
    rows = {}
    for line in out.splitlines():
        kind, name = line.split(" ", 1)
        rows.setdefault(kind, []).append(name)
    return rows


def plain(word):
    """A roff word as it reads: \\- as -, font escapes and quotes gone."""
    word = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", word)
    return word.replace("\\-", "-").replace("\\&", "").strip('"')


def sections(lines, macro):
    """{title: [lines]} of the .SH (or .SS) sections."""
    out, title = {}, None
    for line in lines:
        if line.startswith(".SH ") or line.startswith(".SS "):
            if line.startswith(macro + " "):
                title = plain(line[4:].strip())
                out[title] = []
                continue
            if macro == ".SS" or line.startswith(".SH "):
                title = None
        if title is not None:
            out[title].append(line)
    return out


def entries(lines):
    """The names of every .TP entry's tag line: its long options, else its
    first word."""
    names = []
    for i, line in enumerate(lines[:-1]):
        if line.strip() != ".TP":
            continue
        tag = lines[i + 1]
        m = re.match(r"\.(B|BI|BR|I|IR|IB|RB)\s+(.*)", tag)
        if m is None:
            names.append(plain(tag.split()[0]) if tag.split() else "")
            continue
        try:
            words = shlex.split(m.group(2).replace("\\", "\\\\"))
        except ValueError:
            words = m.group(2).split()
        words = [plain(w.replace("\\\\", "\\")) for w in words]
        words = [w for w in words if w.strip(", ")]
        longs = [w for w in words if w.startswith("--")]
        names.extend(longs or words[:1])
    return names


def bodies(lines):
    """{first name of a .TP tag: its text}, macros dropped, words plain."""
    out, name, names = {}, None, iter(entries(lines))
    for i, line in enumerate(lines):
        if line.strip() == ".TP":
            name = next(names)
            out[name] = []
            continue
        if line.startswith(".SH ") or line.startswith(".SS "):
            name = None
        if name is None or (i > 0 and lines[i - 1].strip() == ".TP"):
            continue
        if line.startswith("."):
            line = line.split(" ", 1)[1] if " " in line else ""
        out[name].append(" ".join(plain(w) for w in line.split()))
    return {k: " ".join(v) for k, v in out.items()}


def same_default(code, page):
    """The default the code gives (dsec_config_describe) and the page's."""
    if code in ("", "none"):
        return page in ("none", "empty")
    if code.isdigit():
        m = re.fullmatch(r"(\d+)([kMG]?)", page)
        scale = {"": 1, "k": 1 << 10, "M": 1 << 20, "G": 1 << 30}
        return m is not None and int(m.group(1)) * scale[m.group(2)] == int(
            code)
    return code == page


def check_defaults(defaults, texts, problems):
    for row in defaults:
        name, _, value = row.partition(" = ")
        m = re.search(r"Default\s+(\S+)", texts.get(name, ""))
        page = m.group(1).rstrip(".,;") if m else None
        if page is None:
            problems.append(f"provider-domainsec.7: {name}: no 'Default' "
                            f"(the code's is '{value}')")
        elif not same_default(value.strip(), page):
            problems.append(f"provider-domainsec.7: {name}: Default '{page}'"
                            f" but the code's is '{value}'")


def compare(where, want, have, problems):
    for name in want:
        if name not in have:
            problems.append(f"{where}: '{name}' is not documented")
    for name in have:
        if name not in want:
            problems.append(f"{where}: '{name}' is documented but the code "
                            f"has no such entry")


def man_warnings(path, problems):
    run = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8",
                          path], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, timeout=60,
                         env=dict(os.environ, MANWIDTH="80"))
    if run.returncode != 0 or run.stderr.strip():
        problems.append(f"{os.path.basename(path)}: man --warnings: "
                        f"rc {run.returncode} {run.stderr.strip()}")


def main():
    binary, mandir = sys.argv[1], sys.argv[2]
    if shutil.which("man") is None:
        print("SKIP: man is not installed")
        return 77
    problems = []
    pages = {}
    for name in PAGES:
        path = os.path.join(mandir, name)
        man_warnings(path, problems)
        with open(path, encoding="utf-8") as f:
            pages[name] = f.read().splitlines()
    top = listing(binary)

    prov = sections(pages["provider-domainsec.7"], ".SH")
    compare("provider-domainsec.7 DIRECTIVES", top["directive"],
            entries(prov.get("DIRECTIVES", [])), problems)
    check_defaults(top["default"], bodies(prov.get("DIRECTIVES", [])),
                   problems)

    cli = pages["domainsec.1"]
    options = entries(sections(cli, ".SH").get("OPTIONS", []))
    compare("domainsec.1 OPTIONS", [o for o in top["option"]],
            [o for o in options if o.startswith("--")], problems)
    subs = sections(cli, ".SS")
    for cmd in top["command"]:
        title = f"domainsec {cmd}"
        if title not in subs:
            problems.append(f"domainsec.1: no .SS \"{title}\" section")
            continue
        rows = listing(binary, cmd)
        want = [o for o in rows.get("option", []) if o != "--help"]
        want += rows.get("action", [])
        compare(f"domainsec.1 {title}", want, entries(subs[title]), problems)
        if cmd == "policyd":
            policyd = sections(pages["domainsec-policyd.8"], ".SH")
            compare("domainsec-policyd.8 OPTIONS",
                    [o for o in rows["option"] if o != "--help"],
                    entries(policyd.get("OPTIONS", [])), problems)
    for line in problems:
        print("FAIL", line)
    counts = (len(top["directive"]), len(top["command"]))
    if problems:
        return 1
    print(f"OK: {counts[0]} directives with their defaults, {counts[1]} commands with their "
          f"options and actions documented; {len(PAGES)} pages "
          f"man --warnings clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
