# expect: 7:21 syntax syntax
"""A typo that makes the file invalid Python."""

c = get_config()  # noqa: F821
c.JupyterHub.ip = '0.0.0.0'
c.Spawner.default_url = '/lab'
c.JupyterHub.port = = 8000
c.Spawner.start_timeout = 120
