# expect: 7:44 unsupported lambda
"""A callable for named_server_limit_per_user."""

c = get_config()  # noqa: F821
c.JupyterHub.allow_named_servers = True
c.Authenticator.admin_users = {'alice'}
c.JupyterHub.named_server_limit_per_user = lambda handler: 10 if handler.current_user.admin else 2
