"""Task program of the word-count example: count the words of the files named on the command line.

Runs on a (virtual) Batch node, in the task's working directory, where the task's resource files
were fetched. Writes ``counts.json`` ({word: count}) for the output-file upload and prints a
one-line summary to stdout.txt. With ``--merge``, adds up the ``counts.json`` files named instead.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter


def main(argv: list[str]) -> int:
    merge = argv[:1] == ["--merge"]
    names = argv[1:] if merge else argv
    total: Counter[str] = Counter()
    for name in names:
        with open(name, encoding="utf-8") as f:
            if merge:
                total.update(json.load(f))
            else:
                total.update(re.findall(r"[a-z']+", f.read().lower()))
    with open("counts.json", "w", encoding="utf-8") as f:
        json.dump(dict(total.most_common()), f, indent=1)
    task = os.environ.get("AZ_BATCH_TASK_ID", "?")
    print(f"{task}: {sum(total.values())} words, {len(total)} distinct")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
