"""Networking with bind_url: one value sets ip, port and base_url for the proxy."""
import os

c = get_config()  # noqa: F821

host = os.environ.get('JUPYTERHUB_HOST', '')
port = 8000
path = '/hub-prefix/'

# bind_url also sets base_url; an empty host means every interface
c.JupyterHub.bind_url = f'http://{host}:{port}{path}'

# The hub itself listens on a private address only
c.JupyterHub.hub_bind_url = 'http://127.0.0.1:8081'
c.JupyterHub.hub_connect_url = 'http://127.0.0.1:8081'

# Servers listen on loopback with random ports
c.Spawner.ip = '127.0.0.1'
c.Spawner.port = 0
