"""Pieces of the Markdown reports: facts about the machine, the prose kept as Markdown files
beside the code (so that engineers edit prose, not string literals), and writing the report."""

import os


def cpu_model():
    with open("/proc/cpuinfo") as f:
        return next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")


def mem_gib():
    with open("/proc/meminfo") as f:
        return int(f.readline().split()[1]) / 2**20


def prose(path):
    """The lines of a Markdown file that a report includes as it is. A leading HTML comment (who
    wrote the text, from which run, when to re-check it) is for its editors and is left out."""
    with open(path) as f:
        text = f.read()
    if text.startswith("<!--"):
        text = text[text.index("-->") + 3:].lstrip("\n")
    return text.split("\n")


def write_lines(out, lines):
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
