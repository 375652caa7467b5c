# env: HUB_ENV=staging HUB_DEBUG=1 EXTRA_SPAWNER_ENV={"CONDA_ENVS_PATH":"/opt/envs","MPLBACKEND":"Agg"} ALLOWED_USERS=alice,Bob,,carol
"""One file for dev, staging and production, switched by environment variables."""
import json
import os

c = get_config()  # noqa: F821

env_name = os.environ.get('HUB_ENV', 'production').lower()
debug = os.environ.get('HUB_DEBUG', '0') in ('1', 'true', 'yes')

if env_name == 'dev':
    c.JupyterHub.port = 8000
    c.JupyterHub.authenticator_class = 'dummy'
elif env_name == 'staging':
    c.JupyterHub.port = 8443
    c.JupyterHub.authenticator_class = 'jupyterhub.auth.PAMAuthenticator'
else:
    c.JupyterHub.port = 443
    c.JupyterHub.authenticator_class = 'pam'

c.Application.log_level = 'DEBUG' if debug else 'INFO'
c.Spawner.debug = bool(debug and env_name != 'production')
c.ConfigurableHTTPProxy.debug = not (env_name == 'production')

# Comma-separated list, blanks and case cleaned up
raw_users = os.environ.get('ALLOWED_USERS', '')
c.Authenticator.allowed_users = {u.strip().lower() for u in raw_users.split(',') if u.strip()}
admins = [u.strip() for u in os.environ.get('ADMIN_USERS', 'alice').split(',') if u.strip()]
c.Authenticator.admin_users = set(admins)

# Extra spawner environment given as JSON
if 'EXTRA_SPAWNER_ENV' in os.environ:
    c.Spawner.environment = json.loads(os.environ['EXTRA_SPAWNER_ENV'])

if 'HUB_PUBLIC_URL' not in os.environ:
    c.JupyterHub.public_url = ''

c.Spawner.cpu_limit = float(os.environ.get('CPU_LIMIT', '1'))
c.Spawner.mem_limit = os.getenv('MEM_LIMIT', '1G').upper()
c.JupyterHub.implicit_spawn_seconds = 0.5 if env_name == 'staging' else 0.0
c.JupyterHub.redirect_to_server = len(admins) > 0 and not debug
