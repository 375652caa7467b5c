# expect: 8:1 unsupported load_subconfig
"""Loading shared settings with load_subconfig()."""

c = get_config()  # noqa: F821
c.JupyterHub.port = 8000
c.JupyterHub.cleanup_servers = False

load_subconfig('/etc/jupyterhub/common_config.py')  # noqa: F821
c.Spawner.default_url = '/lab'
