"""Python helpers for mlip-autopipe activities: only what needs Python (ASE, MACE, pyace).

Each command reads one JSON input file and prints one JSON reply on the last stdout line.
"""
