# oxhub-kube: {"user": "Alice", "server": "", "user_options": {}}
# Trailing '-' stripping: 'jupyter-{username}--{servername}' loses the '--' for the default server,
# but a template that itself ends with '-' keeps it. Upper-case user name (hashed slug). Spawner.args
# without cmd are dropped (the image's CMD runs).
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.pod_name_template = 'jupyter-{username}--{servername}'
c.KubeSpawner.pvc_name_template = 'claim-{username}-'
c.KubeSpawner.storage_pvc_ensure = True
c.KubeSpawner.storage_capacity = '1Gi'
c.KubeSpawner.working_dir = '/home/{unescaped_username}'
c.Spawner.args = ['--debug']
