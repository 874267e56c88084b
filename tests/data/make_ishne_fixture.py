"""How tests/data/119_20s.ecg was made: the first 20 s of the bundled MIT-BIH
record 119 (both leads, in its own 5 uV units less its ADC zero), written by
ishneholterlib, an ISHNE implementation independent of ecgtool's reader
(pip install ishneholterlib wfdb; run from the repository root)."""

import numpy as np
import wfdb
from ishneholterlib import Holter, Lead

rec = wfdb.rdrecord("ecgtool/data/119", sampto=7200, physical=False)
# This ishneholterlib's constructor reads a file; a new one is filled in by hand.
h = Holter.__new__(Holter)
h.filename = "tests/data/119_20s.ecg"
for field, value in {"file_version": 1, "first_name": "", "last_name": "", "id": "119",
                     "sex": 0, "race": 0, "birth_date": None, "record_date": None,
                     "start_time": None, "pm": 0, "recorder_type": b"digital",
                     "sr": 360, "proprietary": "", "copyright": "", "reserved": "",
                     "var_block": ""}.items():
    setattr(h, field, value)
h.lead = []
for i, code in enumerate((6, 11)):  # MLII written as II, and V1
    lead = Lead(code, 1, 5000)  # 1 unit = 5 uV (MIT-BIH's 200 units per mV)
    lead.data = (rec.d_signal[:, i] - rec.adc_zero[i]).astype(np.int16)
    h.lead.append(lead)
h.write_file(overwrite=True, convert_data=False)

# tests/data/119_20s.ann: the beat labels of 119.atr in those 20 s as an ISHNE
# annotation file, its bytes laid out here by hand from the THEW description
# (the ECG file's header under the "ANN  1.0" magic number, the sample the
# first interval counts from, then label, label 2 and a 16-bit interval per
# beat), and read back by ishneholterlib's own annotation reader.
import struct

ann = wfdb.rdann("ecgtool/data/119", "atr", sampto=7200)
beats = [(s, sym) for s, sym in zip(ann.sample, ann.symbol) if sym in "NV" and s < 7200]
start = 0
body = struct.pack("<I", start)
for (s, sym), before in zip(beats, [start] + [b[0] for b in beats[:-1]]):
    body += struct.pack("<ccH", sym.encode(), b"\0", int(s - before))
header = bytearray(open("tests/data/119_20s.ecg", "rb").read()[:522])
header[:8] = b"ANN  1.0"
with open("tests/data/119_20s.ann", "wb") as fh:
    fh.write(bytes(header) + body)


def _checksum(self):  # this ishneholterlib calls numpy's tostring, gone from numpy 2
    import ishneholterlib

    with open(self.filename, "rb") as f:
        f.seek(10)
        return np.uint16(ishneholterlib.Crc16CcittFalse.calc(f.read(self.ecg_block_offset - 10)))


Holter.compute_checksum = _checksum
h.load_ann("tests/data/119_20s.ann")
assert [a["samp_num"] for a in h.beat_anns] == [int(s) for s, _ in beats]
assert [a["ann"] for a in h.beat_anns] == [sym for _, sym in beats]
