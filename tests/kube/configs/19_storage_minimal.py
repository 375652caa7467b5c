# oxhub-kube: {"user": "1user", "server": "", "user_options": {}}
# storage_pvc_ensure alone: no capacity (requests.storage is null), storage_class '' (meaning "no
# class": still written), default access modes; a user name starting with a digit (x- prefix + hash).
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.storage_pvc_ensure = True
c.KubeSpawner.storage_class = ''
