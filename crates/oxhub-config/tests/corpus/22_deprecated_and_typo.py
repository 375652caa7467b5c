"""An old config file that still works, with warnings.

- `whitelist` was renamed to `allowed_users` in JupyterHub 1.2;
- `mem_limt` is a typo that traitlets would silently ignore.
"""
# Uses the injected `c` (no get_config()).

c.JupyterHub.authenticator_class = 'jupyterhub.auth.DummyAuthenticator'
c.Authenticator.whitelist = {'alice'}
c.Authenticator.admin_users = {'alice'}

c.Spawner.mem_limt = '1G'
c.Spawner.cpu_limit = 1.0
