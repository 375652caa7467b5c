# expect: 9:4 unsupported assignment expression
"""An assignment expression in an if statement."""
import os

c = get_config()  # noqa: F821
c.JupyterHub.ip = '0.0.0.0'
c.JupyterHub.hub_ip = '0.0.0.0'

if port := os.environ.get('HUB_PORT', '8000'):
    c.JupyterHub.port = int(port)
