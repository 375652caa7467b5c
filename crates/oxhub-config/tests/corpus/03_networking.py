# env: HUB_HOSTNAME=hub.internal.example.org PUBLIC_PORT=443
"""Networking: a public proxy plus a hub API reachable from other hosts.

Modelled on the "Networking basics" section of the JupyterHub docs: the proxy
listens on all interfaces, the hub binds its API everywhere and tells spawners
and the proxy which name to use to reach it.
"""
import os

c = get_config()  # noqa: F821

# Public-facing proxy
public_ip, public_port = '0.0.0.0', int(os.environ.get('PUBLIC_PORT', '8000'))
c.JupyterHub.ip = public_ip
c.JupyterHub.port = public_port

# Hub API: bind on all interfaces, advertise a resolvable hostname
c.JupyterHub.hub_ip = '0.0.0.0'
c.JupyterHub.hub_port = 8081
c.JupyterHub.hub_connect_ip = os.environ['HUB_HOSTNAME']

# Everything lives under /jupyter/ on the shared web server
prefix = 'jupyter'
c.JupyterHub.base_url = f'/{prefix}/'

# Reading a trait back works like in traitlets
scheme = 'https' if public_port == 443 else 'http'
c.JupyterHub.public_url = '%s://%s%s' % (scheme, 'jupyter.example.org', c.JupyterHub.base_url)

# Reverse proxies in front of the hub
c.JupyterHub.trusted_downstream_ips = ['10.0.0.2', '10.0.0.3']
c.JupyterHub.forwarded_host_header = 'X-Forwarded-Host'
