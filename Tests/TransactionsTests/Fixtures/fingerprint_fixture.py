"""Expected data fingerprints, computed from the layout the README documents, for
DataFingerprintTests. Python's standard library only (hashlib, struct, csv). It reads a
summary as `clientele summarize` writes it (ids first, Clientele's column names and order).

Run from the repository root, after writing the CDNOW sample's calibration summary:

    clientele summarize datasets/cdnow/CDNOW_sample.txt --no-header --delimiter whitespace \
      --customer-column 1 --date-column 3 --amount-column 5 --unit weeks \
      --calibration-end 1997-09-30 --observation-end 1998-06-30 --output /tmp/cdnow-sample-summary.csv
    python3 Tests/TransactionsTests/Fixtures/fingerprint_fixture.py /tmp/cdnow-sample-summary.csv \
      > Tests/TransactionsTests/Fixtures/fingerprints.json
"""
import csv
import hashlib
import json
import struct
import sys

INTEGER_COLUMNS = {"frequency", "frequency_holdout"}


def summary_fingerprint(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    columns, rows = rows[0], rows[1:]
    digest = hashlib.sha256()
    digest.update(("clientele summary\n" + ",".join(columns) + "\n").encode())
    digest.update(struct.pack("<q", len(rows)))
    ids = [row[0].encode() for row in rows]
    offsets = [0]
    for id in ids:
        offsets.append(offsets[-1] + len(id))
    digest.update(struct.pack(f"<{len(offsets)}q", *offsets))
    digest.update(b"".join(ids))
    for j, name in enumerate(columns[1:], start=1):
        values = [row[j] for row in rows]
        if name == "duration_holdout":
            assert len(set(values)) == 1, "one holdout duration"
            digest.update(struct.pack("<d", float(values[0])))
        elif name in INTEGER_COLUMNS:
            digest.update(struct.pack(f"<{len(values)}q", *(int(float(v)) for v in values)))
        else:
            digest.update(struct.pack(f"<{len(values)}d", *(float(v) for v in values)))
    return "sha256:" + digest.hexdigest(), len(rows)


def survivors_fingerprint(path, column, periods):
    with open(path, newline="") as f:
        active = [float(row[column]) for row in csv.DictReader(f)][: periods + 1]
    digest = hashlib.sha256(b"clientele survivors\n")
    digest.update(struct.pack("<q", len(active)))
    digest.update(struct.pack(f"<{len(active)}d", *active))
    return "sha256:" + digest.hexdigest()


summary, customers = summary_fingerprint(sys.argv[1])
print(json.dumps({
    "cdnow_sample_calibration_weeks": {"customers": customers, "fingerprint": summary},
    "retention_regular_years_0_7": survivors_fingerprint("datasets/retention/fader_hardie_2007.csv", "regular", 7),
    "retention_high_end_years_0_7": survivors_fingerprint("datasets/retention/fader_hardie_2007.csv", "high_end", 7),
}, indent=2))
