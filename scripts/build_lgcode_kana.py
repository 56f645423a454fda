"""Regenerate src/madoguchi/tenants/data/LG_CODE_kana.csv: a katakana reading per body.

LG_CODE.csv has names only. The readings are those SudachiDict (core, Apache-2.0) gives the
name's words; they let the operator console find a body by its kana. They are readings a
dictionary proposes, not an official list (a 町 read チョウ may be マチ locally), so a body's
name_kana can be corrected after it is added.

    .venv/bin/python scripts/build_lgcode_kana.py
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sudachipy import Dictionary, SplitMode

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src" / "madoguchi" / "tenants" / "data"


def main() -> None:
    tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.C)
    source = (DATA / "LG_CODE.csv").read_text("utf-8-sig")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["lgcode", "kana"])
    for record in csv.DictReader(source.splitlines()):
        if record["lgcode"].strip() == "0":
            continue
        name = record["name_ja"].strip()
        kana = "".join(m.reading_form() for m in tokenizer.tokenize(name))
        writer.writerow([record["lgcode"].strip(), kana])
    (DATA / "LG_CODE_kana.csv").write_text(out.getvalue(), "utf-8")


if __name__ == "__main__":
    main()
