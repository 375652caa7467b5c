# oxhub-kube: {"user": "Bob.Smith", "server": "", "user_options": {}}
# enable_user_namespaces with the default template {hubnamespace}-{username}: 'user-' + the safe slug.
c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = 'kubespawner.KubeSpawner'

c.KubeSpawner.enable_user_namespaces = True
