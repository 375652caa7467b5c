# expect: 8:25 runtime unsupported operand
"""Concatenating a str and an int."""

c = get_config()  # noqa: F821
port = 8000
c.JupyterHub.port = port
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.bind_url = 'http://0.0.0.0:' + port
