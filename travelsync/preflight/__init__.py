"""Network preflight: checks found by name in `checks/`, run concurrently by `runner.run_checks`.

Pure parts (routes, tunnels, fix planning, render) are apart from the side effects
(netinfo reads the kernel's state, probe connects, fix applies and undoes).
"""
