"""SSM Command documents of the crash-dump collector and the scripts they carry."""
