# oxhub-kube: {"user": "alice", "server": "", "user_options": {}}
# Every KubeSpawner default, default server of user alice.
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'
