# env: CONFIGPROXY_AUTH_TOKEN=0c7a2f9d41e84b3a9e6f5d2c1b0a9988 PROXY_API_HOST=proxy
"""External configurable-http-proxy.

The proxy runs as its own service (container or systemd unit) and keeps its
routes across hub restarts; the hub only talks to its REST API.
"""
import os

c = get_config()  # noqa: F821

c.Proxy.should_start = False
c.ConfigurableHTTPProxy.should_start = False

api_host = os.environ.get('PROXY_API_HOST', '127.0.0.1')
c.ConfigurableHTTPProxy.api_url = 'http://{}:{}'.format(api_host, 8001)
c.ConfigurableHTTPProxy.auth_token = os.environ['CONFIGPROXY_AUTH_TOKEN']
c.ConfigurableHTTPProxy.check_running_interval = 10
c.ConfigurableHTTPProxy.concurrency = 20

# Don't stop the proxy (we never started it) nor user servers when the hub restarts
c.JupyterHub.cleanup_proxy = False
c.JupyterHub.cleanup_servers = False

# The proxy must be able to reach the hub on the container network
c.JupyterHub.hub_ip = '0.0.0.0'
c.JupyterHub.hub_connect_ip = 'hub'
