# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# services_enabled: a ClusterIP Service named like the pod, owned by it, selecting the full pod
# label set; the port follows Spawner.port.
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.services_enabled = True
c.Spawner.port = 9999
c.KubeSpawner.extra_labels = {'owner': '{username}'}
c.KubeSpawner.extra_annotations = {'oxhub.test/owner': '{unescaped_username}'}
