"""DockerSpawner with PAM logins and automatic local accounts."""
import os, sys, json, pathlib

from jupyterhub.auth import PAMAuthenticator

c = get_config()  # noqa: F821

c.JupyterHub.authenticator_class = PAMAuthenticator
c.JupyterHub.spawner_class = 'dockerspawner.DockerSpawner'

c.PAMAuthenticator.service = 'jupyterhub'
c.PAMAuthenticator.open_sessions = False
c.PAMAuthenticator.admin_groups = {'wheel'}
c.PAMAuthenticator.check_account = True
c.LocalAuthenticator.create_system_users = True
c.LocalAuthenticator.add_user_cmd = ['adduser', '-q', '--gecos', '""', '--disabled-password']
c.LocalAuthenticator.allowed_groups = {'jupyter'}

network = os.environ.get('DOCKER_NETWORK_NAME', 'jupyterhub-net')
c.DockerSpawner.image = os.environ.get('DOCKER_NOTEBOOK_IMAGE', 'quay.io/jupyter/base-notebook:latest')
c.DockerSpawner.network_name = network
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.remove = True

notebook_dir = str(pathlib.Path('/home/jovyan') / 'work')
c.DockerSpawner.notebook_dir = notebook_dir
c.DockerSpawner.volumes = {
    'jupyterhub-user-{username}': notebook_dir,
    '/srv/shared': {'bind': '/home/jovyan/shared', 'mode': 'ro'},
}
c.DockerSpawner.environment = json.loads('{"GRANT_SUDO": "no", "CHOWN_HOME": "yes"}')

# The containers reach the hub by its container name
c.JupyterHub.hub_ip = '0.0.0.0'
c.JupyterHub.hub_connect_ip = 'jupyterhub'

if sys.version_info >= (3, 8):
    c.JupyterHub.db_url = 'sqlite:///' + os.path.join('/data', 'jupyterhub.sqlite')
