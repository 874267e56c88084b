"""Signal processing: filtering, R-peak detection and wave delineation."""
