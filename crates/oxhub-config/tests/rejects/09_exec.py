# expect: 8:1 unsupported exec()
"""exec() of generated code."""

c = get_config()  # noqa: F821
c.JupyterHub.port = 8000
c.JupyterHub.ip = '0.0.0.0'
c.Spawner.http_timeout = 60
exec("c.Spawner.start_timeout = 120")
