"""Raster Vision's configuration: the profile's [BATCH] section from a deployed stack."""
