"""
Throw-away demo hub for a workshop.

Anyone may log in with any password (DummyAuthenticator) and every user gets a
server running as the hub's own user, in a scratch directory.  Never expose this.
"""
# This file relies on the `c` object JupyterHub injects: there is no get_config() call.

c.JupyterHub.authenticator_class = 'dummy'
c.JupyterHub.spawner_class = 'simple'

c.SimpleLocalProcessSpawner.home_dir_template = '/tmp/workshop/{username}'
c.Spawner.default_url = '/lab'

c.Authenticator.allow_all = True
c.Authenticator.admin_users = {'instructor'}

# Keep the demo quiet and short-lived
c.JupyterHub.cleanup_servers = True
c.JupyterHub.shutdown_on_logout = True
c.Application.log_level = 'INFO'

print('workshop hub: dummy login, servers under /tmp/workshop')
