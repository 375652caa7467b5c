# expect: 7:38 unsupported open()
"""open() used inside an expression."""

c = get_config()  # noqa: F821
c.JupyterHub.port = 8000
c.JupyterHub.hub_ip = '0.0.0.0'
c.ConfigurableHTTPProxy.auth_token = open('/run/secrets/proxy_token').read().strip()
