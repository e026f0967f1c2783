"""`make bench`: pack against the tools users would pick instead (pex, shiv, PyInstaller, a
plain venv), all building one sample app from one lock with one interpreter. Everything it
makes lives under bench/work/; its results go to bench/results/."""
