"""Reading records (WFDB, CSV, CinC .mat) and the one HDF5 store layout."""
