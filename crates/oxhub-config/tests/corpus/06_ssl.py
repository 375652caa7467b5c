# paths: /etc/jupyterhub/ssl/hub.key=file /etc/jupyterhub/ssl/hub.crt=file /etc/jupyterhub/ssl=dir
"""HTTPS directly on the proxy, when certificates are present.

Falls back to plain HTTP on 8000 if the certificate directory is missing, e.g.
behind a TLS-terminating load balancer.
"""
import os

c = get_config()  # noqa: F821

ssl_dir = '/etc/jupyterhub/ssl'
key = os.path.join(ssl_dir, 'hub.key')
cert = os.path.join(ssl_dir, 'hub.crt')

if os.path.isdir(ssl_dir) and os.path.isfile(key) and os.path.isfile(cert):
    c.JupyterHub.port = 443
    c.JupyterHub.ssl_key = key
    c.JupyterHub.ssl_cert = cert
    c.JupyterHub.cookie_host_prefix_enabled = True
elif os.path.exists('/etc/letsencrypt/live/hub.example.org'):
    live = '/etc/letsencrypt/live/hub.example.org'
    c.JupyterHub.port = 443
    c.JupyterHub.ssl_key = os.path.join(live, 'privkey.pem')
    c.JupyterHub.ssl_cert = os.path.join(live, 'fullchain.pem')
else:
    print('no TLS certificate found in', ssl_dir, '- serving plain HTTP')
    c.JupyterHub.port = 8000

# Internal SSL between hub, proxy and servers stays off
c.JupyterHub.internal_ssl = False
