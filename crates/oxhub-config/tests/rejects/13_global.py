# expect: 7:1 unsupported global
"""A stray global statement at module level."""

c = get_config()  # noqa: F821
c.JupyterHub.port = 8000
c.Spawner.default_url = '/lab'
global ADMINS
ADMINS = {'alice'}
c.Authenticator.admin_users = ADMINS
