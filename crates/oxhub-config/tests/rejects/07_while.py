# expect: 8:1 unsupported while
"""A while loop building user names."""

c = get_config()  # noqa: F821
c.JupyterHub.authenticator_class = 'dummy'
users = []
i = 0
while i < 10:
    users.append('user%d' % i)
    i += 1
c.Authenticator.allowed_users = set(users)
