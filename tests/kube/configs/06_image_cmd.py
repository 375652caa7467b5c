# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# Image, pull policy and pull secrets (strings mixed with {'name': ...}), Spawner.cmd + Spawner.args
# (container args, not command), working_dir with {username}, default_url, notebook_dir, debug and
# disable_user_config (env only).
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.image = 'quay.io/jupyter/scipy-notebook:2024-06-03'
c.KubeSpawner.image_pull_policy = 'Always'
c.KubeSpawner.image_pull_secrets = ['regcred', {'name': 'other-registry'}]
c.Spawner.cmd = ['jupyterhub-singleuser']
c.Spawner.args = ['--ServerApp.log_level=DEBUG', '--KernelManager.autorestart=False']
c.KubeSpawner.working_dir = '/home/jovyan/{username}'
c.Spawner.default_url = '/lab'
c.Spawner.notebook_dir = '/home/jovyan/{username}/notebooks'
c.Spawner.debug = True
c.Spawner.disable_user_config = True
