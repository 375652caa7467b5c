# expect: 7:1 unsupported subprocess
"""Asking the system for the hub's IP address."""

c = get_config()  # noqa: F821
c.JupyterHub.port = 8000
c.JupyterHub.hub_ip = '0.0.0.0'
import subprocess
c.JupyterHub.hub_connect_ip = subprocess.check_output(['hostname', '-i']).decode().strip()
