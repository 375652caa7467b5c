# env: PROVISIONER_TOKEN=7d3c9e1f2a4b6c8d0e1f2a3b4c5d6e7f
"""API-only hub: nobody logs in through the browser; a provisioning service
creates users and starts their servers through the REST API."""
import os

c = get_config()  # noqa: F821

c.JupyterHub.authenticator_class = 'null'
c.JupyterHub.spawner_class = 'localprocess'

c.JupyterHub.cookie_secret_file = os.path.expanduser('~/.jupyterhub/cookie_secret')
c.JupyterHub.pid_file = os.path.join(os.path.expanduser('~'), 'jupyterhub.pid')
c.JupyterHub.db_url = 'sqlite:///' + os.path.join('/srv/hub', 'data', 'jupyterhub.sqlite')

c.JupyterHub.services = [
    dict(name='provisioner', api_token=os.environ.get('PROVISIONER_TOKEN') or 'provisioner-token-0123456789abcdef'),
    dict([('name', 'reporter'), ('url', 'http://127.0.0.1:9100')]),
]

# One role per service, from a literal list
c.JupyterHub.load_roles = []
for svc, scopes in [
    ('provisioner', ('admin:users', 'admin:servers', 'tokens')),
    ('reporter', ('list:users', 'read:users:activity')),
]:
    role = {'name': svc + '-role', 'scopes': list(scopes), 'services': [svc]}
    c.JupyterHub.load_roles.append(role)

proxy_ips = tuple(os.environ.get('PROXY_IPS', '10.1.0.1,10.1.0.2').split(','))
c.JupyterHub.trusted_downstream_ips = list(proxy_ips)

c.JupyterHub.api_page_default_limit = 50 if len(proxy_ips) < 3 else 100
c.JupyterHub.api_page_max_limit = 500
c.JupyterHub.trust_user_provided_tokens = False
