"""Minimal JupyterHub configuration: listen on every interface, port 8000."""

c = get_config()  # noqa: F821

c.JupyterHub.ip = '0.0.0.0'
c.JupyterHub.port = 8000
