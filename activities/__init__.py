"""Python helpers of mlip-autopipe's activities: only what needs Python (ASE, MACE, pyace), each module
beside the TypeScript activity that calls it (activities/<group>/). Run as
`python -m activities.runtime.helper_cli <command> <input.json>` or through the long-lived
`activities.runtime.helper_server`; the command registry is activities/runtime/commands.py.
"""
