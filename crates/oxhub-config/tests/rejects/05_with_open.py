# expect: 8:1 unsupported with
"""Reading the admin list from a file."""

c = get_config()  # noqa: F821
c.JupyterHub.authenticator_class = 'pam'
c.Authenticator.allowed_users = {'alice', 'bob'}

with open('/etc/jupyterhub/admins.txt') as f:
    c.Authenticator.admin_users = {line.strip() for line in f if line.strip()}
