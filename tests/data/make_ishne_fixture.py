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
